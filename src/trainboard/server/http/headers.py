"""Headers on every response: errors, static files, streams and refused WebSocket handshakes included.

``X-Content-Type-Options: nosniff`` stops a browser from guessing a type other than the one declared (a
log download or raw bytes rendered as HTML); ``X-Frame-Options: DENY`` keeps the dashboard out of other
sites' frames (no clickjacking of its buttons). HTML pages get a Content-Security-Policy without inline script
unless they bring their own, and over TLS ``Strict-Transport-Security`` is added.
"""

from __future__ import annotations

from trainboard.server.http.asgi import ASGIApp, Message, Receive, Scope, Send

SECURITY_HEADERS = ((b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"))
#: HTML pages without a policy of their own (the web UI; /docs sets its own): no inline script, nothing from
#: elsewhere, no framing. Inline *styles* stay allowed (the UI's components set style attributes).
UI_CSP = (
    b"default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    b"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
#: Over TLS only: browsers remember to use HTTPS for this host for a year.
HSTS = (b"strict-transport-security", b"max-age=31536000")
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
                ctype = next((v for k, v in message.get("headers", ()) if k.lower() == b"content-type"), b"")
                if ctype.lower().startswith(b"text/html") and b"content-security-policy" not in names:
                    extra.append((b"content-security-policy", UI_CSP))
                if scope.get("scheme") in ("https", "wss") and HSTS[0] not in names:
                    extra.append(HSTS)
                message["headers"] = [*message.get("headers", ()), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)
