"""Once across server processes: the jobs that must not run in every process (heartbeat watchdog, log
retention, idle line flush, host sampling) run in the one process that holds a PostgreSQL advisory lock.

Every process tries ``pg_try_advisory_lock`` on a connection of its own (autocommit, so it never sits idle
in a transaction) every ``retry`` seconds. The holder runs the jobs and checks its connection at that
interval; when the connection breaks (the database restarted, the network dropped) the jobs are cancelled
and the process competes again. When the holder dies (even by SIGKILL) PostgreSQL ends its session and
releases the lock, and another process takes over within ``retry`` seconds. On SQLite there is one server
process (``serve --workers`` refuses more): it runs the jobs itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable, Coroutine
from typing import Any

from sqlalchemy import Connection, create_engine
from sqlalchemy.pool import NullPool

from trainboard.server.observability.metrics import LEADER

log = logging.getLogger(__name__)

#: The advisory lock's key (one 64-bit number for the whole database: "trainbd" in ASCII).
LOCK_KEY = 0x74_72_61_69_6E_62_64
RETRY_SECONDS = 2.0

Job = Callable[[], Coroutine[Any, Any, None]]


async def _run_jobs(jobs: list[tuple[str, Job]]) -> list[asyncio.Task[None]]:
    return [asyncio.create_task(job(), name=name) for name, job in jobs]


async def _stop(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def _acquire(acquire: Callable[[], Connection | None]) -> Connection | None:
    """``acquire`` in a thread; cancelled meanwhile (the server stopping), the connection the thread still gets is
    closed when it arrives instead of being left to the garbage collector with the lock held."""
    attempt = asyncio.ensure_future(asyncio.to_thread(acquire))
    try:
        return await asyncio.shield(attempt)
    except asyncio.CancelledError:

        def close_late(done: asyncio.Future[Connection | None]) -> None:
            if not done.cancelled() and done.exception() is None and (late := done.result()) is not None:
                threading.Thread(target=late.close, name="trainboard-leader-close", daemon=True).start()

        attempt.add_done_callback(close_late)
        raise


async def lead(database_url: str, jobs: list[tuple[str, Job]], *, retry: float = RETRY_SECONDS) -> None:
    """Run ``jobs`` (name, coroutine factory) while this process holds the lock; forever."""
    if not database_url.startswith("postgresql"):
        tasks = await _run_jobs(jobs)
        LEADER.set(1)
        try:
            await asyncio.gather(*tasks)
        finally:
            LEADER.set(0)
            await _stop(tasks)
        return
    engine = create_engine(database_url, poolclass=NullPool)

    def acquire() -> Connection | None:
        conn = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            if conn.exec_driver_sql("SELECT pg_try_advisory_lock(%s)", (LOCK_KEY,)).scalar():
                return conn
        except Exception:
            conn.close()
            raise
        conn.close()
        return None

    def alive(conn: Connection) -> None:
        conn.exec_driver_sql("SELECT 1")

    try:
        while True:
            try:
                conn = await _acquire(acquire)
            except Exception as exc:
                log.warning("background jobs: cannot reach the database for the leader lock: %s", exc)
                conn = None
            if conn is None:
                await asyncio.sleep(retry)
                continue
            log.info("this process runs the background jobs (holds the leader lock)")
            tasks = await _run_jobs(jobs)
            LEADER.set(1)
            try:
                while True:
                    await asyncio.sleep(retry)
                    await asyncio.to_thread(alive, conn)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("background jobs: lost the leader lock's connection (%s); competing again", exc)
            finally:
                LEADER.set(0)
                await _stop(tasks)
                with contextlib.suppress(Exception):
                    await asyncio.to_thread(conn.close)
    finally:
        await asyncio.to_thread(engine.dispose)
