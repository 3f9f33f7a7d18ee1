"""``trainboard serve --workers N``: N server processes sharing one listening socket, on PostgreSQL + Redis.

The supervisor (this process) migrates the database once, binds the socket, then forks N workers; each
runs its own uvicorn server, writer thread and broker on the inherited socket, and the kernel hands each
new connection to one of them. Any request may land on any worker, which is correct because

- the database is the source of truth and every write goes through it (a worker's caches are checked
  against it: ``log_indexer``);
- live events reach every worker's streams through Redis (``stream.redis_broker``), and a stream that
  may have missed some catches up from the database by its cursor;
- the once-per-cluster background jobs run in one worker at a time (``leader``);
- Prometheus values are written per process into ``$PROMETHEUS_MULTIPROC_DIR`` and summed by ``/metrics``.

A worker that dies (even by SIGKILL) is replaced; its open streams reconnect to the others (browsers and the
SDK retry by themselves). SIGTERM or SIGINT stops every worker gracefully, then the supervisor.

Why not uvicorn's own ``--workers``: it spawns workers that import the app from a string, so the settings,
the deadline protocol and the startup checks would all have to travel through the environment; forking a
configured server keeps one code path with the single-process ``serve``. Running N separate ``trainboard
serve`` processes on N ports behind nginx (``deploy/nginx``) works the same way and also survives a
whole machine; ``--workers`` is the one-machine shortcut.

Per-process caps: ``--max-streams`` and ``--max-streams-per-client`` are enforced by each worker on its
own connections, so a server of N workers holds up to N times ``--max-streams`` in total; divide by N to
keep a global figure (the kernel spreads connections about evenly).
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import cast

from trainboard.server.settings import Settings

log = logging.getLogger(__name__)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
#: A worker that dies this soon after its start, this many times in a row, stops the server.
CRASH_WINDOW_SECONDS = 10.0
MAX_QUICK_CRASHES = 3


def prepare_metrics_dir() -> Path | None:
    """Point ``$PROMETHEUS_MULTIPROC_DIR`` at an empty directory (a fresh temporary one unless the operator
    set it: then it is emptied, as prometheus-client requires between runs). Returns the directory this
    call created (to remove at exit), else ``None``. Must run before anything imports prometheus_client."""
    given = os.environ.get(MULTIPROC_ENV)
    if given:
        path = Path(given)
        path.mkdir(parents=True, exist_ok=True)
        for stale in path.glob("*.db"):
            stale.unlink(missing_ok=True)
        return None
    made = Path(tempfile.mkdtemp(prefix="trainboard-metrics-"))
    os.environ[MULTIPROC_ENV] = str(made)
    return made


def _die_with(parent: int) -> None:
    """Have the kernel send this worker SIGTERM when the supervisor dies (Linux), so that a SIGKILLed supervisor
    leaves no worker serving on its own; gone already: exit now."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
    if os.getppid() != parent:
        os._exit(0)


def _child(settings: Settings, sock: socket.socket, log_level: str, parent: int) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    _die_with(parent)
    from trainboard.server.lifecycle.uvicorn_server import make_server

    code = 0
    try:
        make_server(settings, log_level=log_level).run(sockets=[sock])
    except BaseException:
        logging.getLogger(__name__).exception("worker %d failed", os.getpid())
        code = 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def run_workers(settings: Settings, *, log_level: str = "warning") -> int:
    """Serve with ``settings.workers`` processes until SIGTERM/SIGINT; returns the exit status."""
    made_dir = prepare_metrics_dir()
    # (never ``observability.metrics`` here: its gauges, made in this process, would count it as a worker)
    import uvicorn
    from prometheus_client import multiprocess

    from trainboard.server.store.engine import make_engines, upgrade

    # typed here: prometheus_client's annotation of it differs between releases
    mark_dead = cast("Callable[[int], None]", multiprocess.mark_process_dead)
    engines = make_engines(settings)
    try:
        upgrade(engines.writer)  # once, before any worker starts (they then find nothing to do)
    finally:
        engines.dispose()
    sock = uvicorn.Config(app="trainboard.server.app:create_app", host=settings.host, port=settings.port).bind_socket()
    stopping = False

    def stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for pid in list(children):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    children: dict[int, float] = {}

    def spawn() -> None:
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:
            _child(settings, sock, log_level, parent)
        children[pid] = time.monotonic()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(
        f"trainboard: {settings.workers} worker processes on {settings.host}:{settings.port}",
        file=sys.stderr,
        flush=True,
    )
    status = 0
    quick_crashes = 0
    try:
        for _ in range(settings.workers):
            spawn()
        while children:
            try:
                pid, wait_status = os.waitpid(-1, 0)
            except ChildProcessError:
                break
            except InterruptedError:
                continue
            started = children.pop(pid, None)
            if started is None:
                continue
            mark_dead(pid)
            if stopping:
                continue
            code = os.waitstatus_to_exitcode(wait_status)
            print(f"trainboard: worker {pid} exited ({code}); starting another", file=sys.stderr, flush=True)
            quick_crashes = quick_crashes + 1 if time.monotonic() - started < CRASH_WINDOW_SECONDS else 0
            if quick_crashes >= MAX_QUICK_CRASHES:
                print("trainboard: workers keep failing at start; stopping", file=sys.stderr, flush=True)
                stop(signal.SIGTERM, None)
                status = 1
                continue
            spawn()
    finally:
        sock.close()
        if made_dir is not None:
            shutil.rmtree(made_dir, ignore_errors=True)
    return status
