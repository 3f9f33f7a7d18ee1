"""Run the server with uvicorn (used by ``trainboard serve`` and ``trainboard demo``).

One process by default; ``Settings.workers > 1`` runs that many behind one socket (``workers``). Both make
their uvicorn server with ``uvicorn_server.make_server``, so neither module imports the other's caller.
"""

from __future__ import annotations

import contextlib
import sys

from trainboard.server.auth.startup import StartupRefused, check_startup
from trainboard.server.lifecycle.uvicorn_server import make_server
from trainboard.server.settings import Settings


class ServeRefused(Exception):
    """The settings cannot be served as asked (the message says why and what to do)."""


def raise_open_files_limit() -> None:
    """Every stream is a socket: lift the soft limit on open files to the hard one (as Go programs do), so
    the stream caps, not the default 1024 descriptors, decide how many clients are served."""
    with contextlib.suppress(ImportError, ValueError, OSError):
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
        if soft != resource.RLIM_INFINITY and soft < target:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def check_workers(settings: Settings) -> None:
    """Several processes need a database they can all write (PostgreSQL) and a fan-out between them (Redis)."""
    if settings.workers < 1:
        raise ServeRefused(f"--workers must be at least 1, not {settings.workers}")
    if settings.workers == 1:
        return
    if settings.database_url.startswith("sqlite"):
        raise ServeRefused(
            f"--workers {settings.workers} needs PostgreSQL (--db postgresql://...): SQLite has one writer, so "
            "several server processes cannot share it; serve SQLite with one process"
        )
    if not settings.redis_url:
        raise ServeRefused(
            f"--workers {settings.workers} needs --redis redis://...: without it a live view on one process "
            "would not see what another process ingests"
        )


def serve(settings: Settings, *, log_level: str = "warning", banner: str | None = None) -> None:
    """Run until stopped. Exits with status 1 and one line on stderr when the settings or authentication
    forbid starting; ``banner`` (the "serving on ..." line) is printed only once every check has passed."""
    try:
        check_workers(settings)
        startup = check_startup(settings)
    except (StartupRefused, ServeRefused) as exc:
        print(f"trainboard: {exc}", file=sys.stderr, flush=True)
        raise SystemExit(1) from None
    if banner is not None:
        print(banner, file=sys.stderr, flush=True)
    for line in startup:
        print(line, file=sys.stderr, flush=True)
    raise_open_files_limit()
    if settings.workers > 1:
        from trainboard.server.lifecycle.workers import run_workers

        raise SystemExit(run_workers(settings, log_level=log_level))
    make_server(settings, log_level=log_level).run()
