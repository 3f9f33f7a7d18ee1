"""The middleware stack, outermost first: the forwarded headers of trusted proxies only (``forwarded``), request
metrics and the access log (``observability``), security headers on every answer, the Host check (``hosts``: DNS
rebinding, duplicate Host), the origin rules (``guard``), the authentication gate (``auth.gate``: every route,
streams watched), the body limit (``limits``), strict JSON bodies (``strict_json``) and the stream caps."""

from __future__ import annotations

import re

from fastapi import FastAPI

from trainboard.server.auth.gate import AuthGate
from trainboard.server.auth.proxy import trusted_proxies
from trainboard.server.http.forwarded import ForwardedHeaders
from trainboard.server.http.guard import OriginGuard
from trainboard.server.http.headers import SecurityHeaders
from trainboard.server.http.hosts import HostCheck, allowed_names
from trainboard.server.http.limits import BodyLimit, StreamLimits
from trainboard.server.http.routes import iter_routes
from trainboard.server.http.strict_json import StrictJSON
from trainboard.server.observability.middleware import RequestObserver
from trainboard.server.settings import Settings
from trainboard.wire import MAX_BODY_BYTES

EVENT_STREAM = "text/event-stream"


def event_stream_paths(app: FastAPI) -> list[re.Pattern[str]]:
    """The path patterns of the routes answering ``text/event-stream`` (declared in their responses)."""
    return [info.regex for info in iter_routes(app.routes) if EVENT_STREAM in info.media_types]


def install(app: FastAPI, settings: Settings) -> None:
    """Add the stack to ``app``; call after every router is included."""
    app.add_middleware(
        StreamLimits,
        per_client=settings.max_streams_per_client,
        total=settings.max_streams,
        stream_paths=event_stream_paths(app),
    )
    app.add_middleware(StrictJSON)
    app.add_middleware(BodyLimit, max_body=MAX_BODY_BYTES)
    app.add_middleware(AuthGate, settings=settings)
    app.add_middleware(OriginGuard, allowed_origins=settings.allowed_origins)
    app.add_middleware(HostCheck, allowed=allowed_names(settings))
    app.add_middleware(SecurityHeaders)
    # outermost: every answer is counted and logged, the refusals of the layers above included
    app.add_middleware(RequestObserver, routes=list(iter_routes(app.routes)), stream_paths=event_stream_paths(app))
    # outermost of all: who the client is (the TCP peer, or what a trusted proxy says) before anyone looks
    trusted = trusted_proxies(settings.forwarded_allow_ips, settings.auth_proxy_from)
    app.add_middleware(ForwardedHeaders, trusted=trusted)
