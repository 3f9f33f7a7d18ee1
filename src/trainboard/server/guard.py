"""Request guard (pure ASGI middleware): body size limit and JSON-only writes.

A write (POST/PUT/PATCH/DELETE) that carries a body must be ``application/json``: an HTML form on
another site can post ``application/x-www-form-urlencoded``, ``multipart/form-data`` or ``text/plain``
to a localhost server without a CORS preflight; refusing those with 415 means a cross-site page cannot
change anything. A body over ``max_body`` bytes gets 413 before it is read.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class _TooLarge(Exception):
    pass


async def _reply(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


class RequestGuard:
    def __init__(self, app: ASGIApp, max_body: int) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _WRITES:
            await self.app(scope, receive, send)
            return
        headers = {k.lower(): v for k, v in scope["headers"]}
        length_header = headers.get(b"content-length")
        chunked = b"chunked" in headers.get(b"transfer-encoding", b"")
        has_body = chunked or (length_header is not None and length_header.strip() not in (b"", b"0"))
        if has_body:
            ctype = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
            if ctype != b"application/json":
                shown = ctype.decode("latin-1") or "none"
                await _reply(send, 415, f"request body must be application/json (got {shown})")
                return
            if length_header is not None:
                try:
                    length = int(length_header)
                except ValueError:
                    await _reply(send, 400, "invalid Content-Length header")
                    return
                if length > self.max_body:
                    await _reply(send, 413, f"request body is {length} bytes; the limit is {self.max_body} bytes")
                    return
        if not chunked:
            await self.app(scope, receive, send)
            return
        seen = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body:
                    raise _TooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _TooLarge:
            if not started:
                await _reply(send, 413, f"request body exceeds the limit of {self.max_body} bytes")
