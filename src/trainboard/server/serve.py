"""Run the server with uvicorn (used by ``trainboard serve`` and ``trainboard demo``)."""

from __future__ import annotations

import uvicorn

from trainboard.server.app import create_app
from trainboard.server.settings import Settings

#: Streams (SSE, WebSocket) stay open for hours; on SIGTERM uvicorn would wait for them forever.
GRACEFUL_SHUTDOWN_SECONDS = 3


def make_server(settings: Settings, *, log_level: str = "warning") -> uvicorn.Server:
    config = uvicorn.Config(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=log_level,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        ws_ping_interval=20,
        ws_ping_timeout=20,
        access_log=False,
    )
    return uvicorn.Server(config)


def serve(settings: Settings, *, log_level: str = "warning") -> None:
    make_server(settings, log_level=log_level).run()
