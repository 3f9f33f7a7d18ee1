"""The uvicorn server of one process, used by ``serve`` (one process) and ``workers`` (each of N processes).

The app and uvicorn are imported only when a server is made, so that the worker supervisor can prepare the
environment (the Prometheus multiprocess directory) before anything imports ``prometheus_client``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trainboard.server.settings import Settings

if TYPE_CHECKING:
    import uvicorn

#: Streams (SSE, WebSocket) stay open for hours; on SIGTERM uvicorn would wait for them forever.
GRACEFUL_SHUTDOWN_SECONDS = 3


def make_server(settings: Settings, *, log_level: str = "warning") -> uvicorn.Server:
    import uvicorn

    from trainboard.server.app import create_app
    from trainboard.server.http.protocol import protocol_class
    from trainboard.server.observability import logs

    own_logging = logs.configure(log_format=settings.log_format, log_file=settings.log_file, level=log_level)
    config = uvicorn.Config(
        create_app(settings),
        ssl_certfile=settings.ssl_certfile,
        ssl_keyfile=settings.ssl_keyfile,
        host=settings.host,
        port=settings.port,
        log_level=log_level,
        log_config=None if own_logging else uvicorn.config.LOGGING_CONFIG,
        http=protocol_class(
            header_timeout=settings.header_timeout,
            body_timeout=settings.body_timeout,
            write_stall_timeout=settings.write_stall_timeout,
        ),
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        # forwarded headers are read by the app itself, from trusted proxies only (server/http/forwarded.py)
        proxy_headers=False,
        ws_ping_interval=20,
        ws_ping_timeout=20,
        access_log=False,
    )
    return uvicorn.Server(config)
