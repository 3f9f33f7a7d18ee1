"""Headers on every response: errors, static files, streams and refused WebSocket handshakes included.

``X-Content-Type-Options: nosniff`` stops a browser from guessing a type other than the one declared (a
log download or raw bytes rendered as HTML); ``X-Frame-Options: DENY`` keeps the dashboard out of other
sites' frames (no clickjacking of its buttons).
"""

from __future__ import annotations

from trainboard.server.asgi import ASGIApp, Message, Receive, Scope, Send

SECURITY_HEADERS = ((b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"))
_STARTS = frozenset({"http.response.start", "websocket.http.response.start"})


class SecurityHeaders:
    """Pure ASGI middleware; the outermost one, so that every other middleware's answers get the headers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] in _STARTS:
                names = {k.lower() for k, _v in message.get("headers", ())}
                extra = [(k, v) for k, v in SECURITY_HEADERS if k not in names]
                message["headers"] = [*message.get("headers", ()), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)
