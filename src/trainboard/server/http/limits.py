"""No client takes more than its share: request body size, and how many streams one client and all
clients together may hold open.

- ``BodyLimit``: a body over ``max_body`` bytes gets 413 — before it is read when ``Content-Length``
  says so, as soon as the limit is crossed for a chunked body.
- ``StreamLimits``: streams (every WebSocket, every Server-Sent-Events route) are long-lived; each one
  holds a socket, a subscription and a queue. One client (by IP address) may hold ``per_client`` of them
  (else 429), the server ``total`` (else 503); both refusals carry ``Retry-After``. Behind a reverse
  proxy every client shares the proxy's address: raise ``per_client`` there.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

from trainboard.server.http.asgi import ASGIApp, Message, Receive, Scope, Send, header, refuse

RETRY_AFTER_SECONDS = 5


class BodyLimit:
    """413 for request bodies over ``max_body`` bytes (JSON ``{"detail": ...}`` naming the limit)."""

    def __init__(self, app: ASGIApp, max_body: int) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = header(scope, b"content-length")
        if length is not None:
            try:
                size = int(length)
            except ValueError:
                await refuse(scope, send, 400, "invalid Content-Length header")
                return
            if size > self.max_body:
                await refuse(scope, send, 413, f"request body is {size} bytes; the limit is {self.max_body} bytes")
                return
            await self.app(scope, receive, send)
            return
        seen = 0
        answered = False
        started = False

        async def counting_receive() -> Message:
            nonlocal seen, answered
            if answered:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body:
                    # answer now; the app then sees a disconnect and whatever it sends is dropped
                    answered = True
                    if not started:
                        await refuse(scope, send, 413, f"request body exceeds the limit of {self.max_body} bytes")
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if answered:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        await self.app(scope, counting_receive, guarded_send)


class StreamLimits:
    """Caps on open streams per client address and in total. ``stream_paths`` are the regular
    expressions of the HTTP routes that stream (Server-Sent Events); every WebSocket is a stream."""

    def __init__(
        self, app: ASGIApp, *, per_client: int, total: int, stream_paths: Iterable[re.Pattern[str]] = ()
    ) -> None:
        self.app = app
        self.per_client = per_client
        self.total = total
        self.stream_paths = tuple(stream_paths)
        self.open: Counter[str] = Counter()

    def is_stream(self, scope: Scope) -> bool:
        if scope["type"] == "websocket":
            return True
        return scope["type"] == "http" and any(p.match(scope["path"]) for p in self.stream_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.is_stream(scope):
            await self.app(scope, receive, send)
            return
        client = (scope.get("client") or ("unknown", 0))[0]
        retry = [(b"retry-after", str(RETRY_AFTER_SECONDS).encode())]
        if self.open[client] >= self.per_client:
            await refuse(
                scope,
                send,
                429,
                f"too many open streams from {client}: the limit is {self.per_client} per client",
                retry,
            )
            return
        if self.open.total() >= self.total:
            await refuse(scope, send, 503, f"too many open streams: the server's limit is {self.total}", retry)
            return
        self.open[client] += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.open[client] -= 1
            if self.open[client] <= 0:
                del self.open[client]
