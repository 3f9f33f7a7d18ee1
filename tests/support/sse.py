"""A small SSE client for tests: parses events from a streaming httpx response."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass
class Event:
    event: str
    data: str
    id: str | None

    @property
    def payload(self) -> bytes:
        return base64.b64decode(self.data)

    def json(self) -> Any:
        return json.loads(self.data)


def events(resp: httpx.Response) -> Iterator[Event]:
    fields: dict[str, str] = {}
    for line in resp.iter_lines():
        if line.startswith(":"):
            continue
        if line:
            name, _, value = line.partition(":")
            fields[name] = value[1:] if value.startswith(" ") else value
            continue
        if "event" in fields:
            yield Event(fields["event"], fields.get("data", ""), fields.get("id"))
        fields = {}


def collect(
    url: str,
    run_id: str,
    *,
    offset: int | None = None,
    last_event_id: str | None = None,
    max_events: int | None = None,
    timeout: float = 60.0,
) -> tuple[bytes, list[Event]]:
    """Read a run's SSE stream until ``done`` (or ``max_events`` log events); returns (bytes, events)."""
    params = {} if offset is None else {"offset": offset}
    headers = {} if last_event_id is None else {"Last-Event-ID": last_event_id}
    data = bytearray()
    got: list[Event] = []
    with httpx.stream(
        "GET", f"{url}/api/runs/{run_id}/logs/stream", params=params, headers=headers, timeout=timeout
    ) as resp:
        resp.raise_for_status()
        for ev in events(resp):
            got.append(ev)
            if ev.event == "log":
                data += ev.payload
                if max_events is not None and sum(e.event == "log" for e in got) >= max_events:
                    break
            elif ev.event == "done":
                break
    return bytes(data), got
