"""The app's route table, flattened: every HTTP and WebSocket route with its full path.

FastAPI (from 0.16x) keeps an included router as one nested entry of ``app.routes``; the middleware that
must know which routes stream, and the tests that check a rule on every route of a kind, walk this instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from fastapi.routing import APIRoute
from starlette.routing import BaseRoute, WebSocketRoute, compile_path


@dataclass(frozen=True)
class RouteInfo:
    path: str
    route: APIRoute | WebSocketRoute

    @property
    def regex(self) -> re.Pattern[str]:
        return compile_path(self.path)[0]

    @property
    def methods(self) -> frozenset[str]:
        return frozenset(self.route.methods or ()) if isinstance(self.route, APIRoute) else frozenset()

    @property
    def media_types(self) -> frozenset[str]:
        """The content types its declared responses may have (HTTP routes)."""
        if not isinstance(self.route, APIRoute):
            return frozenset()
        return frozenset(t for r in self.route.responses.values() for t in r.get("content", {}))


def iter_routes(routes: Iterable[BaseRoute], prefix: str = "") -> Iterator[RouteInfo]:
    """Every HTTP and WebSocket route under ``routes`` (an ``app.routes`` or a router's)."""
    for route in routes:
        if isinstance(route, APIRoute | WebSocketRoute):
            yield RouteInfo(prefix + route.path, route)
            continue
        nested = getattr(route, "original_router", None)  # an included router (newer FastAPI)
        if nested is not None:
            context = getattr(route, "include_context", None)
            yield from iter_routes(nested.routes, prefix + str(getattr(context, "prefix", "") or ""))
