"""The middleware stack, outermost first: security headers on every answer, the Host check (DNS
rebinding), the origin rules (``guard``), the body limit and the stream caps (``limits``)."""

from __future__ import annotations

import re

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.middleware.trustedhost import TrustedHostMiddleware

from trainboard.server.guard import OriginGuard
from trainboard.server.headers import SecurityHeaders
from trainboard.server.limits import BodyLimit, StreamLimits
from trainboard.server.settings import Settings
from trainboard.wire import MAX_BODY_BYTES

EVENT_STREAM = "text/event-stream"


def event_stream_paths(app: FastAPI) -> list[re.Pattern[str]]:
    """The path patterns of the routes answering ``text/event-stream`` (declared in their responses)."""
    found = []
    for route in app.routes:
        if isinstance(route, APIRoute):
            contents = [r.get("content", {}) for r in route.responses.values()]
            if any(EVENT_STREAM in c for c in contents):
                found.append(route.path_regex)
    return found


def install(app: FastAPI, settings: Settings) -> None:
    """Add the stack to ``app``; call after every router is included."""
    app.add_middleware(
        StreamLimits,
        per_client=settings.max_streams_per_client,
        total=settings.max_streams,
        stream_paths=event_stream_paths(app),
    )
    app.add_middleware(BodyLimit, max_body=MAX_BODY_BYTES)
    app.add_middleware(OriginGuard, allowed_origins=settings.allowed_origins)
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(settings.effective_allowed_hosts))
    app.add_middleware(SecurityHeaders)
