"""uvicorn's HTTP protocol with deadlines, so that a half-open or stalled connection cannot be held forever.

uvicorn's ``timeout_keep_alive`` only runs between requests and is reset by any byte, so a client that
sends a request's headers (or its body) a byte at a time, or nothing at all, holds a connection without
end (a "slowloris"), and a client that never reads a response holds it too. This protocol adds three
deadlines, which an ASGI middleware cannot (the app is not called before the headers are complete):

- ``header_timeout``: from the connection (or a request's first byte) to the end of its headers;
- ``body_timeout``: from the end of the headers to the end of the body;
- ``write_stall_timeout``: how long a response may stay blocked on a client that reads nothing (the
  socket's buffer full and not shrinking); a client that reads slowly but steadily is never cut.

A request that misses a deadline gets ``408`` (JSON) and the connection is closed; a stalled response's
connection is aborted (its subscription and queue are released as for any disconnect).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import struct
from typing import Any

try:  # Linux (and most Unixes): bytes in a socket's send queue not yet acknowledged by the peer
    import fcntl
    import termios

    _OUTQ: int | None = termios.TIOCOUTQ
except (ImportError, AttributeError):  # pragma: no cover - other platforms count the transport's buffer only
    _OUTQ = None

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from trainboard.server.http.headers import SECURITY_HEADERS

#: The longest URL the HTTP parser can take apart (httptools keeps its parts' offsets in 16 bits).
MAX_URL_BYTES = 65535


def _json_response(status: bytes, detail: str) -> bytes:
    body = json.dumps({"detail": detail}).encode()
    head = [
        b"HTTP/1.1 " + status,
        b"content-type: application/json",
        b"content-length: " + str(len(body)).encode(),
        b"connection: close",
        *(k + b": " + v for k, v in SECURITY_HEADERS),
    ]
    return b"\r\n".join(head) + b"\r\n\r\n" + body


def _timeout_response(what: str, seconds: float) -> bytes:
    return _json_response(b"408 Request Timeout", f"request {what} not received within {seconds:g} s")


class DeadlineProtocol(HttpToolsProtocol):
    """``HttpToolsProtocol`` plus the deadlines above (class attributes, set by :func:`protocol_class`)."""

    header_timeout = 10.0
    body_timeout = 60.0
    write_stall_timeout = 60.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None
        self._stall: asyncio.TimerHandle | None = None

    # ---- deadlines while reading a request
    def _arm(self, phase: str, seconds: float) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, self._expired, phase, seconds)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self, phase: str, seconds: float) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        cycle = self.cycle if phase == "body" else None
        if cycle is None or not cycle.response_started:
            self.transport.write(_timeout_response(phase, seconds))
        if cycle is not None:  # the app waiting for the body sees a disconnect; what it sends is dropped
            cycle.disconnected = True
            cycle.message_event.set()
        self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm("headers", self.header_timeout)  # a connection that never sends a request is closed too

    def send_400_response(self, msg: str) -> None:
        """A request the parser refused: JSON like every other error (uvicorn's own answer is plain text)."""
        if len(getattr(self, "url", b"")) > MAX_URL_BYTES:
            detail = f"the request's URL is longer than {MAX_URL_BYTES} bytes: send long values in a body"
        else:
            detail = f"malformed HTTP request ({msg.rstrip('.')})"
        self._disarm()
        self.transport.write(_json_response(b"400 Bad Request", detail))
        self.transport.close()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm("headers", self.header_timeout)

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        self._arm("body", self.body_timeout)

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._disarm()

    def handle_websocket_upgrade(self) -> None:
        self._disarm()  # the WebSocket protocol takes the connection over (it has its own ping timeout)
        self._cancel_stall()
        super().handle_websocket_upgrade()

    # ---- a response stalled on a client that does not read
    def pause_writing(self) -> None:
        super().pause_writing()
        if self._stall is None:
            self._arm_stall()

    def _arm_stall(self) -> None:
        # progress, not resumption, is what counts: a big response stays above the high-water mark for as
        # long as a slow reader takes to drain it, so the timer re-arms while what waits keeps shrinking
        self._stall = self.loop.call_later(self.write_stall_timeout, self._stalled, self._unsent())

    def _unsent(self) -> int:
        """Bytes not yet taken by the client: the transport's buffer plus the kernel's send queue (which
        only shrinks when the peer acknowledges, i.e. reads and frees its receive window). Counting the
        kernel queue matters: it holds megabytes on loopback, and a slow reader drains that first."""
        unsent = self.transport.get_write_buffer_size()
        sock = self.transport.get_extra_info("socket")
        if sock is not None and _OUTQ is not None:
            with contextlib.suppress(OSError, ValueError):
                unsent += struct.unpack("i", fcntl.ioctl(sock.fileno(), _OUTQ, b"\0\0\0\0"))[0]
        return unsent

    def resume_writing(self) -> None:
        super().resume_writing()
        self._cancel_stall()

    def _cancel_stall(self) -> None:
        if self._stall is not None:
            self._stall.cancel()
            self._stall = None

    def _stalled(self, waiting: int) -> None:
        self._stall = None
        if self.transport.is_closing():
            return
        if self._unsent() < waiting:  # the client read something meanwhile
            self._arm_stall()
            return
        self.transport.abort()  # drop what the client never read; connection_lost releases the request

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        self._cancel_stall()
        super().connection_lost(exc)


def protocol_class(*, header_timeout: float, body_timeout: float, write_stall_timeout: float) -> type[DeadlineProtocol]:
    """A protocol class with these deadlines (uvicorn makes one instance per connection)."""
    return type(
        "TrainboardHttpProtocol",
        (DeadlineProtocol,),
        {
            "header_timeout": header_timeout,
            "body_timeout": body_timeout,
            "write_stall_timeout": write_stall_timeout,
        },
    )
