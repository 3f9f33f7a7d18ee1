"""HTTP to the server: one keep-alive connection, outcomes classified for the retry logic.

The SDK never records its own activity: while one of its requests runs, the records that httpx and
httpcore log on that thread are dropped at their loggers (a thread-local flag), so a user's
``logging.basicConfig(level=INFO)`` shows no "HTTP Request: POST .../logs/raw" lines and the capture
cannot feed them back as new output. The user's own httpx requests, on other threads or outside an
SDK request, log as usual.
"""

from __future__ import annotations

import enum
import json
import logging
import threading
from dataclasses import dataclass

import httpx

from trainboard._version import __version__

#: Loggers of the HTTP stack whose records are dropped while the SDK sends (httpcore logs on children).
HTTP_LOGGERS = (
    "httpx",
    "httpcore",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "httpcore.socks",
    "urllib3.connectionpool",
)

_sending = threading.local()


def in_sdk_request() -> bool:
    """True on a thread while it runs one of the SDK's own HTTP requests."""
    return bool(getattr(_sending, "active", False))


class _DropOwnRequests(logging.Filter):
    """Drops the records the SDK's own requests cause; everything else passes."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not in_sdk_request()


_FILTER = _DropOwnRequests()
_installed = False
_install_lock = threading.Lock()


def install_log_filter() -> None:
    """Put the filter on the HTTP stack's loggers (idempotent)."""
    global _installed
    with _install_lock:
        if _installed:
            return
        for name in HTTP_LOGGERS:
            logging.getLogger(name).addFilter(_FILTER)
        _installed = True


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
        install_log_filter()
        self.base_url = base_url
        self._client = httpx.Client(
            base_url=base_url,
            timeout=httpx.Timeout(timeout, connect=5.0),
            headers={"content-type": "application/json", "user-agent": f"trainboard-sdk/{__version__}"},
            limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
        )

    def send(self, method: str, path: str, body: bytes | None = None) -> Reply:
        _sending.active = True
        try:
            resp = self._client.request(method, path, content=body)
        except httpx.HTTPError as exc:
            return Reply(Outcome.RETRY, detail=f"{type(exc).__name__}: {exc}")
        finally:
            _sending.active = False
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
        _sending.active = True
        try:
            self._client.close()
        finally:
            _sending.active = False
