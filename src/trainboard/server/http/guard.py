"""Origin rules: a local server is not open to every web page the user happens to visit.

Browsers let any page send some requests to any address without asking the target first: "simple"
requests (GET, and POST with a form or ``text/plain`` body or no body at all, ``fetch(..., {mode:
'no-cors'})``), ``<img>``/``<form>`` loads, and WebSocket handshakes. Everything else needs a CORS
preflight, which this server never grants. The rules, in this one place (authentication builds on them):

1. A request whose ``Origin`` is not this server's own (same host and port as the ``Host`` header, or
   one of ``Settings.allowed_origins``) is refused with 403; ``Origin: null`` (sandboxed frames,
   ``data:`` pages) is foreign. This covers every WebSocket route: browsers always send ``Origin`` on a
   WebSocket handshake, so a page elsewhere cannot read live data.
2. A request a browser marks ``Sec-Fetch-Site: cross-site`` or ``same-site`` (another port of
   ``localhost`` is "same-site") is refused with 403, except a top-level navigation (``Sec-Fetch-Mode:
   navigate`` with GET/HEAD): a link to the dashboard from elsewhere still opens it.
3. A state-changing request (POST, PUT, PATCH, DELETE) must carry ``Content-Type: application/json``
   or the header ``X-Trainboard`` (any value, e.g. ``1``), with or without a body: a cross-site page
   cannot set either without a preflight, so this holds even for a browser that sends no ``Origin``.
   A body must be JSON (else 415). The SDK and CLI send ``application/json``; the web UI sends
   ``X-Trainboard: 1``; with curl add ``-H 'X-Trainboard: 1'``.

Requests without ``Origin``/``Sec-Fetch-*`` headers (curl, the SDK, scripts) pass rules 1 and 2.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from trainboard.server.http.asgi import ASGIApp, Receive, Scope, Send, header, refuse

#: The custom header that marks a state-changing request as not sent by a cross-site page.
MARKER_HEADER = "X-Trainboard"
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_DEFAULT_PORTS = {"http": 80, "ws": 80, "https": 443, "wss": 443}
_SAFE_FETCH_SITES = frozenset({b"same-origin", b"none"})

HostKey = tuple[str, int]


def split_host(netloc: str, scheme: str) -> HostKey | None:
    try:
        parts = urlsplit(f"//{netloc}")
        host, port = parts.hostname, parts.port
    except ValueError:
        return None
    if not host:
        return None
    return host.lower(), port if port is not None else _DEFAULT_PORTS.get(scheme, 80)


def origin_key(origin: str) -> HostKey | None:
    """``("host", port)`` of an origin such as ``http://127.0.0.1:8000``; ``None`` for ``null`` or junk."""
    scheme, sep, rest = origin.strip().partition("://")
    if not sep or "/" in rest.rstrip("/"):
        return None
    return split_host(rest.rstrip("/"), scheme.lower())


def parse_origins(origins: Iterable[str]) -> frozenset[HostKey]:
    """Parse ``--allowed-origin`` values; raises ``ValueError`` naming a bad one."""
    keys = set()
    for origin in origins:
        key = origin_key(origin)
        if key is None:
            raise ValueError(f"not an origin (scheme://host[:port]): {origin!r}")
        keys.add(key)
    return frozenset(keys)


def refusal(scope: Scope, allowed: frozenset[HostKey] = frozenset()) -> tuple[int, str] | None:
    """Why this request must be refused under the rules above, as (status, detail); ``None`` when it may pass."""
    method = scope.get("method", "GET")
    origin = header(scope, b"origin")
    if origin is not None:
        text = origin.decode("latin-1")
        host = header(scope, b"host")
        scheme = scope.get("scheme", "http")
        own = split_host(host.decode("latin-1"), scheme) if host else None
        key = origin_key(text)
        if key is None or (key != own and key not in allowed):
            return 403, (
                f"cross-origin request refused: Origin {text[:100]!r} is not this server "
                "(a page on another site cannot use this API; see --allowed-origin)"
            )
    site = header(scope, b"sec-fetch-site")
    if site is not None and site.lower() not in _SAFE_FETCH_SITES:
        navigation = header(scope, b"sec-fetch-mode") == b"navigate" and method in ("GET", "HEAD")
        if not navigation or scope["type"] == "websocket":
            return 403, f"cross-site request refused (Sec-Fetch-Site: {site.decode('latin-1')[:40]})"
    if scope["type"] != "http" or method not in WRITES:
        return None
    ctype = (header(scope, b"content-type") or b"").split(b";")[0].strip().lower()
    length = header(scope, b"content-length")
    chunked = b"chunked" in (header(scope, b"transfer-encoding") or b"").lower()
    has_body = chunked or (length is not None and length.strip() not in (b"", b"0"))
    if has_body and ctype != b"application/json":
        return 415, f"request body must be application/json (got {ctype.decode('latin-1')[:80] or 'none'})"
    if ctype != b"application/json" and header(scope, MARKER_HEADER.lower().encode()) is None:
        return 403, (
            f"a {method} request must carry Content-Type: application/json or the header {MARKER_HEADER}: 1 "
            "(a cross-site page cannot send either without a CORS preflight)"
        )
    return None


class OriginGuard:
    """Pure ASGI middleware applying :func:`refusal` to every HTTP request and WebSocket handshake."""

    def __init__(self, app: ASGIApp, allowed_origins: Iterable[str] = ()) -> None:
        self.app = app
        self.allowed = parse_origins(allowed_origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            refused = refusal(scope, self.allowed)
            if refused is not None:
                await refuse(scope, send, *refused)
                return
        await self.app(scope, receive, send)
