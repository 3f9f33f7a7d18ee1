"""One ASGI middleware that measures every request: Prometheus request counts and durations, open streams
by kind, and the structured access record (``logs.access_event``).

Route labels are route templates (``/api/runs/{run_id}/metrics``), never raw paths, so a scraper's series
stay few however many runs exist; a path that matches no route is labelled ``unmatched``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable

from trainboard.server.http.asgi import ASGIApp, Message, Receive, Scope, Send
from trainboard.server.http.routes import RouteInfo
from trainboard.server.observability import logs, metrics

_RUN_PATH = re.compile(r"^/api/runs/([A-Za-z0-9_-]{1,64})(?:/|$)")


class RequestObserver:
    """Counts, times and logs requests. ``routes`` is the app's route table (``routes.iter_routes``) and
    ``stream_paths`` the Server-Sent-Events routes' patterns (each such response is an open stream)."""

    def __init__(self, app: ASGIApp, *, routes: Iterable[RouteInfo], stream_paths: Iterable[re.Pattern[str]]) -> None:
        self.app = app
        self.routes = [(info.regex, info.path, info.route.__class__.__name__ == "WebSocketRoute") for info in routes]
        self.stream_paths = tuple(stream_paths)

    def _route(self, scope: Scope) -> str:
        ws = scope["type"] == "websocket"
        path = scope.get("path", "")
        for regex, template, is_ws in self.routes:
            if is_ws == ws and regex.match(path):
                return template
        return "unmatched"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        path = scope.get("path", "")
        method = scope.get("method", "WS") if kind == "http" else "WS"
        route = self._route(scope)
        stream = (
            "websocket" if kind == "websocket" else "sse" if any(p.match(path) for p in self.stream_paths) else None
        )
        status = 0

        async def observed_send(message: Message) -> None:
            nonlocal status
            mtype = message["type"]
            if mtype == "http.response.start" or mtype == "websocket.http.response.start":
                status = int(message["status"])
                metrics.HTTP_DURATION.labels(method, route).observe(time.perf_counter() - started)
            elif mtype == "websocket.accept":
                status = 101
            elif mtype == "websocket.close" and not status:
                status = 403  # closed before it was accepted
            await send(message)

        gauge = metrics.OPEN_STREAMS.labels(stream) if stream else None
        if gauge is not None:
            gauge.inc()
        try:
            await self.app(scope, receive, observed_send)
        except BaseException:
            status = status or 500
            raise
        finally:
            if gauge is not None:
                gauge.dec()
            metrics.HTTP_REQUESTS.labels(method, route, str(status)).inc()
            client = scope.get("client")
            match = _RUN_PATH.match(path)
            logs.access_event(
                method=method,
                path=path,
                route=route,
                status=status,
                started=started,
                client=client[0] if client else None,
                run_id=match.group(1) if match else None,
            )
