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
from trainboard.sdk import credentials

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
    DENIED = "denied"  # 401/403: the credentials are missing or too weak; keep the data (a token fixes it)


@dataclass
class Reply:
    outcome: Outcome
    status: int | None = None
    detail: str = ""
    body: bytes = b""


class Transport:
    """Sends pre-encoded JSON bodies; never raises for network or server errors.

    ``token`` (see ``credentials.resolve_token``) goes out as ``Authorization: Bearer``; it is kept only in
    the client's headers, never in a message, a repr or an exception. Certificates are verified (a private
    CA through ``$TRAINBOARD_CA_BUNDLE``/``$SSL_CERT_FILE``) and ``$HTTPS_PROXY`` is honoured. Raises
    ``credentials.CredentialsError`` only when the CA bundle named in the environment cannot be read.
    """

    def __init__(self, base_url: str, *, timeout: float = 30.0, token: str | None = None) -> None:
        install_log_filter()
        self.base_url = base_url
        self.authenticated = bool(token)
        self._client = httpx.Client(
            base_url=base_url,
            timeout=httpx.Timeout(timeout, connect=5.0),
            headers={
                "content-type": "application/json",
                "user-agent": f"trainboard-sdk/{__version__}",
                **credentials.auth_headers(token),
            },
            limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
            verify=credentials.verify_for(base_url),
            trust_env=True,
        )

    def __repr__(self) -> str:
        return f"Transport({self.base_url!r}, authenticated={self.authenticated})"

    def send(self, method: str, path: str, body: bytes | None = None) -> Reply:
        _sending.active = True
        try:
            resp = self._client.request(method, path, content=body)
        except httpx.HTTPError as exc:
            if credentials.is_certificate_error(exc):
                return Reply(Outcome.RETRY, detail=credentials.certificate_message(self.base_url))
            return Reply(Outcome.RETRY, detail=f"{type(exc).__name__}: {exc}")
        finally:
            _sending.active = False
        if resp.status_code < 400:
            return Reply(Outcome.OK, resp.status_code, body=resp.content)
        detail = resp.text[:500]
        if resp.status_code in (401, 403):
            return Reply(Outcome.DENIED, resp.status_code, response_detail(resp))
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

    def denied_message(self, reply: Reply) -> str:
        """The one line for a 401/403 ``reply``."""
        return credentials.auth_message(self.base_url, reply.status or 401, reply.detail)

    def close(self) -> None:
        _sending.active = True
        try:
            self._client.close()
        finally:
            _sending.active = False


def response_detail(resp: httpx.Response) -> str:
    """The server's ``detail`` (one line, at most 300 characters), else the start of the body. The one
    reading of an error answer for the SDK and the CLI's client commands."""
    try:
        detail = resp.json().get("detail")
    except (ValueError, AttributeError):
        detail = None
    text = detail if isinstance(detail, str) else resp.text
    return " ".join(text.split())[:300]
