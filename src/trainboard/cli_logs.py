"""``trainboard logs``: raw bytes to the terminal, SSE follow, filtered lines."""

from __future__ import annotations

import base64
import json
import sys
from collections.abc import Callable
from typing import Any

import httpx

from trainboard.cli_color import SgrStripper

Fail = Callable[..., Exception]
PAGE = 4 * 1024 * 1024


def _check(resp: httpx.Response, fail: Fail) -> None:
    if resp.status_code >= 400:
        try:
            detail = resp.json().get("detail")
        except ValueError:
            detail = resp.text[:300]
        raise fail(detail if isinstance(detail, str) else json.dumps(detail))


class _Out:
    """stdout's bytes, through an SGR filter with ``--color never``."""

    def __init__(self, strip_color: bool) -> None:
        self._out = sys.stdout.buffer
        self._strip = SgrStripper() if strip_color else None

    def write(self, data: bytes) -> None:
        self._out.write(self._strip.feed(data) if self._strip else data)

    def close(self) -> None:
        if self._strip:
            self._out.write(self._strip.flush())
        self._out.flush()


def print_raw(client: httpx.Client, run_id: str, *, strip_color: bool = False, fail: Fail) -> int:
    """Write all stored bytes to stdout; returns the end offset."""
    out = _Out(strip_color)
    offset = 0
    while True:
        resp = client.get(f"/api/runs/{run_id}/logs", params={"offset": offset, "limit": PAGE})
        _check(resp, fail)
        offset = max(offset, int(resp.headers.get("X-Log-Offset", offset)))
        out.write(resp.content)
        offset += len(resp.content)
        if not resp.content or offset >= int(resp.headers["X-Log-Size"]):
            out.close()
            return offset


def follow_raw(client: httpx.Client, run_id: str, *, strip_color: bool = False, fail: Fail, offset: int = 0) -> int:
    """Stream bytes live from ``offset`` until the run ends; returns its exit code. Reconnects with
    the last offset if the connection drops."""
    out = _Out(strip_color)
    try:
        return _follow(client, run_id, out, fail, offset)
    finally:
        out.close()


def _follow(client: httpx.Client, run_id: str, out: _Out, fail: Fail, offset: int) -> int:
    while True:
        try:
            with client.stream("GET", f"/api/runs/{run_id}/logs/stream", params={"offset": offset}) as resp:
                if resp.status_code >= 400:
                    resp.read()
                    _check(resp, fail)
                event: dict[str, str] = {}
                for line in resp.iter_lines():
                    if line:
                        field, _, value = line.partition(":")
                        event[field] = value[1:] if value.startswith(" ") else value
                        continue
                    if event.get("event") == "log":
                        out.write(base64.b64decode(event["data"]))
                        sys.stdout.buffer.flush()
                        offset = int(event["id"])
                    elif event.get("event") == "done":
                        code: Any = json.loads(event["data"]).get("exit_code")
                        return int(code) if isinstance(code, int) else 0
                    event = {}
        except httpx.TransportError:
            import time

            time.sleep(1.0)  # dropped: resume from the last offset


def print_lines(
    client: httpx.Client,
    run_id: str,
    *,
    level: str | None,
    grep: str | None,
    source: str | None,
    color: bool,
    fail: Fail,
) -> None:
    """Print matching indexed lines (in colour or as plain text), paging through all of them."""
    params: dict[str, Any] = {"limit": 1000}
    if level:
        params["level"] = level
    if grep:
        params["search"] = grep
    if source:
        params["source"] = source
    out = sys.stdout
    cursor: int | None = None
    while True:
        if cursor is not None:
            params["after"] = cursor
        resp = client.get(f"/api/runs/{run_id}/logs/lines", params=params)
        _check(resp, fail)
        page = resp.json()
        for line in page["lines"]:
            out.write((line.get("display", line["message"]) if color else line["message"]) + "\n")
        cursor = page.get("next_cursor")
        if not page["lines"] or cursor is None:
            out.flush()
            return
