"""HTTP to the server: one keep-alive connection, outcomes classified for the retry logic."""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass

import httpx

from trainboard._version import __version__


class Outcome(enum.Enum):
    OK = "ok"
    RETRY = "retry"  # server unreachable or failing (5xx): keep the data, back off, try again
    REJECTED = "rejected"  # the server will never take this (4xx): report it, move on


@dataclass
class Reply:
    outcome: Outcome
    status: int | None = None
    detail: str = ""
    body: bytes = b""


class Transport:
    """Sends pre-encoded JSON bodies; never raises for network or server errors."""

    def __init__(self, base_url: str, *, timeout: float = 30.0) -> None:
        self.base_url = base_url
        self._client = httpx.Client(
            base_url=base_url,
            timeout=httpx.Timeout(timeout, connect=5.0),
            headers={"content-type": "application/json", "user-agent": f"trainboard-sdk/{__version__}"},
            limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
        )

    def send(self, method: str, path: str, body: bytes | None = None) -> Reply:
        try:
            resp = self._client.request(method, path, content=body)
        except httpx.HTTPError as exc:
            return Reply(Outcome.RETRY, detail=f"{type(exc).__name__}: {exc}")
        if resp.status_code < 400:
            return Reply(Outcome.OK, resp.status_code, body=resp.content)
        detail = resp.text[:500]
        if resp.status_code >= 500 or resp.status_code in (408, 429):
            return Reply(Outcome.RETRY, resp.status_code, detail)
        return Reply(Outcome.REJECTED, resp.status_code, detail)

    def get_json(self, path: str) -> object | None:
        """GET and decode JSON; ``None`` on any failure (used for best-effort lookups)."""
        reply = self.send("GET", path)
        if reply.outcome is not Outcome.OK:
            return None
        try:
            decoded: object = json.loads(reply.body)
            return decoded
        except ValueError:
            return None

    def close(self) -> None:
        self._client.close()
