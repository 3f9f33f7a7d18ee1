"""``X-Forwarded-For`` / ``X-Forwarded-Proto``, believed only from a trusted proxy's TCP connection.

uvicorn's own proxy-header handling is off (``lifecycle.uvicorn_server.make_server``): it rewrites the client
address before any of the app sees the connection, so a check of the real peer (the auth proxy's header, issue 21)
would compare against an address the client chose. Here the TCP peer is kept in the scope under :data:`PEER_KEY`
first, and only when that peer is a trusted proxy (``--forwarded-allow-ips`` or ``--auth-proxy-from``) are the
scheme and the client address taken from the headers. Everything after this middleware (the per-address login and
stream limits, the audit log) sees the real peer, or the address the trusted proxy vouches for.
"""

from __future__ import annotations

from trainboard.server.auth.proxy import Network, peer_trusted
from trainboard.server.http.asgi import ASGIApp, Receive, Scope, Send, header

#: The ASGI scope key holding the TCP peer's address, before any forwarded header is applied.
PEER_KEY = "trainboard.peer"
_SCHEMES = {"http": {"http", "https"}, "websocket": {"ws", "wss"}}


def tcp_peer(scope: Scope) -> str:
    """The address of the connection itself (never a forwarded one)."""
    peer = scope.get(PEER_KEY)
    if isinstance(peer, str):
        return peer
    return str((scope.get("client") or ("", 0))[0])


def forwarded_client(value: str, trusted: tuple[Network, ...]) -> str | None:
    """The client a chain of proxies names: the rightmost address not itself a trusted proxy (each proxy
    appends the address it saw, so everything left of that one could have been written by the client)."""
    hops = [h.strip() for h in value.split(",") if h.strip()]
    for hop in reversed(hops):
        if not peer_trusted(hop, trusted):
            return hop
    return hops[0] if hops else None


def _scheme(scope: Scope, proto: bytes) -> str | None:
    word = proto.decode("latin-1").split(",")[0].strip().lower()
    if scope["type"] == "websocket":
        word = {"https": "wss", "http": "ws"}.get(word, word)
    return word if word in _SCHEMES.get(scope["type"], ()) else None


class ForwardedHeaders:
    """Pure ASGI middleware; the outermost one, so that logs and limits see the address it settles on."""

    def __init__(self, app: ASGIApp, trusted: tuple[Network, ...]) -> None:
        self.app = app
        self.trusted = trusted

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            peer = str((scope.get("client") or ("", 0))[0])
            scope[PEER_KEY] = peer
            if peer_trusted(peer, self.trusted):
                proto = header(scope, b"x-forwarded-proto")
                scheme = _scheme(scope, proto) if proto is not None else None
                if scheme is not None:
                    scope["scheme"] = scheme
                chain = header(scope, b"x-forwarded-for")
                client = forwarded_client(chain.decode("latin-1"), self.trusted) if chain is not None else None
                if client:
                    scope["client"] = (client, 0)
        await self.app(scope, receive, send)
