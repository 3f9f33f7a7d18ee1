"""Run the server with uvicorn (used by ``trainboard serve`` and ``trainboard demo``)."""

from __future__ import annotations

import contextlib
import sys

import uvicorn

from trainboard.server.app import create_app
from trainboard.server.auth.startup import StartupRefused, check_startup
from trainboard.server.protocol import protocol_class
from trainboard.server.settings import Settings

#: Streams (SSE, WebSocket) stay open for hours; on SIGTERM uvicorn would wait for them forever.
GRACEFUL_SHUTDOWN_SECONDS = 3


def raise_open_files_limit() -> None:
    """Every stream is a socket: lift the soft limit on open files to the hard one (as Go programs do), so
    the stream caps, not the default 1024 descriptors, decide how many clients are served."""
    with contextlib.suppress(ImportError, ValueError, OSError):
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
        if soft != resource.RLIM_INFINITY and soft < target:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def make_server(settings: Settings, *, log_level: str = "warning") -> uvicorn.Server:
    config = uvicorn.Config(
        create_app(settings),
        ssl_certfile=settings.ssl_certfile,
        ssl_keyfile=settings.ssl_keyfile,
        host=settings.host,
        port=settings.port,
        log_level=log_level,
        http=protocol_class(
            header_timeout=settings.header_timeout,
            body_timeout=settings.body_timeout,
            write_stall_timeout=settings.write_stall_timeout,
        ),
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        ws_ping_interval=20,
        ws_ping_timeout=20,
        access_log=False,
    )
    return uvicorn.Server(config)


def serve(settings: Settings, *, log_level: str = "warning") -> None:
    """Run until stopped. Exits with status 1 and one line on stderr when authentication forbids starting."""
    try:
        startup = check_startup(settings)
    except StartupRefused as exc:
        print(f"trainboard: {exc}", file=sys.stderr, flush=True)
        raise SystemExit(1) from None
    for line in startup:
        print(line, file=sys.stderr, flush=True)
    raise_open_files_limit()
    make_server(settings, log_level=log_level).run()
