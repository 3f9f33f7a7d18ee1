"""The single writer: one connection, one thread, jobs from a queue, grouped commits.

All writes on every database go through here, so "database is locked" cannot happen by construction
(readers never write; SQLite WAL lets them read while the writer commits). Jobs queued while a commit
is in progress are run together in the next transaction, each inside a SAVEPOINT so that one failing
job (bad input) rolls back alone and the others still commit.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine

T = TypeVar("T")
Job = Callable[[Connection], Any]
#: Called on the writer thread with a job's result once its transaction committed (in commit order).
AfterCommit = Callable[[Any], None]

log = logging.getLogger(__name__)

_STOP = object()
_MAX_GROUP = 256


class Writer:
    """Runs write jobs ``fn(connection)`` on one thread; ``await writer.run(fn)`` returns after commit."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._loop, name="trainboard-writer", daemon=True)
        self._started = False
        #: Per-thread caches owned by jobs (e.g. series ids); cleared by jobs that invalidate them.
        self.cache: dict[str, Any] = {}
        #: Called (on the writer thread) whenever a transaction or savepoint rolled back: state kept in
        #: memory beside the database (the write path's line index) may hold what was just undone.
        self.on_rollback: list[Callable[[], None]] = []

    def start(self) -> None:
        if not self._started:
            self._started = True
            self._thread.start()

    def submit(self, fn: Callable[[Connection], T], after_commit: Callable[[T], None] | None = None) -> Future[T]:
        """Queue ``fn``; ``after_commit(result)`` runs on the writer thread once the result is durable, in
        commit order and before the future resolves (the write path hands changes to subscribers there)."""
        fut: Future[T] = Future()
        self._queue.put((fn, fut, after_commit))
        return fut

    def depth(self) -> int:
        """Jobs waiting in the queue (a gauge for operators: ``/metrics``)."""
        return self._queue.qsize()

    async def run(self, fn: Callable[[Connection], T], after_commit: Callable[[T], None] | None = None) -> T:
        """Run ``fn`` in the writer's transaction; returns its result once committed."""
        return await asyncio.wrap_future(self.submit(fn, after_commit))

    def close(self, timeout: float = 10.0) -> None:
        if self._started:
            self._queue.put(_STOP)
            self._thread.join(timeout)

    def _loop(self) -> None:
        conn = self._engine.connect()
        try:
            while True:
                item = self._queue.get()
                if item is _STOP:
                    return
                group = [item]
                stop = False
                while len(group) < _MAX_GROUP:
                    try:
                        nxt = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if nxt is _STOP:
                        stop = True
                        break
                    group.append(nxt)
                self._run_group(conn, group)
                if stop:
                    return
        finally:
            conn.close()

    def _forget(self) -> None:
        self.cache.clear()
        for hook in self.on_rollback:
            hook()

    def _run_group(self, conn: Connection, group: list[tuple[Job, Future[Any], AfterCommit | None]]) -> None:
        outcomes: list[tuple[Future[Any], bool, Any]] = []
        after = {id(fut): hook for _fn, fut, hook in group if hook is not None}
        try:
            with conn.begin():
                for fn, fut, _hook in group:
                    if not fut.set_running_or_notify_cancel():
                        continue
                    if len(group) == 1:
                        try:
                            outcomes.append((fut, True, fn(conn)))
                        except Exception as exc:
                            outcomes.append((fut, False, exc))
                            raise
                        continue
                    nested = conn.begin_nested()
                    try:
                        result = fn(conn)
                    except Exception as exc:
                        nested.rollback()
                        self._forget()  # caches may hold ids created inside the rolled-back savepoint
                        outcomes.append((fut, False, exc))
                    else:
                        nested.commit()
                        outcomes.append((fut, True, result))
        except Exception as exc:  # the commit itself failed (or a lone job raised): nothing is durable
            self._forget()
            for fut, ok, value in outcomes:
                fut.set_exception(value if not ok else exc)
            for _fn, fut, _hook in group[len(outcomes) :]:
                if not fut.done():
                    fut.set_exception(exc)
            return
        for fut, ok, value in outcomes:
            if ok:
                if (hook := after.get(id(fut))) is not None:
                    try:
                        hook(value)
                    except Exception:  # the write is durable: its caller still gets the result
                        log.exception("after-commit hook of a write job failed")
                fut.set_result(value)
            else:
                fut.set_exception(value)
