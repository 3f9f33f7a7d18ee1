"""The write path's core: run a job in the writer, then hand what it committed to the subscribers.

``WritePath.commit(job, changes)`` runs ``job(conn)`` in the single writer's transaction; when subscribers
are registered, ``changes(conn, result)`` builds the committed-change records inside the same job (so the
run's project is read in the transaction that wrote), and they are queued for the subscribers from the
writer thread right after the commit, in commit order, before the caller resumes. Publishing to live
viewers stays with the caller (``server.ingest.*``), on the event loop, after ``commit`` returns.

The write path also owns the log indexer (``LogIndexer``): it is an explicit object here, reset whenever
the writer rolls something back.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TypedDict, TypeVar

from sqlalchemy import Connection

from trainboard.server.ingest.changes import Change
from trainboard.server.ingest.log_indexer import LogIndexer
from trainboard.server.ingest.subscribers import Subscribers
from trainboard.server.store.sql import placeholder
from trainboard.server.store.writer import Writer
from trainboard.server.stream.broker import Broker

T = TypeVar("T")

#: Builds the committed changes of a job from its connection and result (runs inside the job).
ChangesOf = Callable[[Connection, T], Sequence[Change]]


class Stamp(TypedDict):
    """The fields every change carries (``Change(**stamp, ...)``)."""

    run_id: str
    project: str
    committed_at: float


class WritePath:
    """What every server write goes through (see the package docstring)."""

    def __init__(self, writer: Writer, broker: Broker, subscribers: Subscribers) -> None:
        self.writer = writer
        self.broker = broker
        self.subscribers = subscribers
        #: Raw terminal bytes -> log lines; used only inside writer jobs.
        self.indexer = LogIndexer()
        self._projects: dict[str, str] = {}  # run id -> project (writer thread only)
        writer.on_rollback.append(self._rolled_back)

    def _rolled_back(self) -> None:
        self.indexer.reset()
        self._projects.clear()

    async def commit(self, job: Callable[[Connection], T], changes: ChangesOf[T] | None = None) -> T:
        """Run ``job`` in the writer; once committed, queue ``changes(conn, result)`` for the subscribers."""
        if changes is None or not self.subscribers.active:
            return await self.writer.run(job)
        built: list[Sequence[Change]] = []

        def wrapped(conn: Connection) -> T:
            result = job(conn)
            built.append(changes(conn, result))
            return result

        def after(_result: T) -> None:
            self.subscribers.deliver_threadsafe(built[-1])

        return await self.writer.run(wrapped, after)

    def project_of(self, conn: Connection, run_id: str) -> str:
        """The run's project (cached per run on the writer thread; ``forget_run`` on change/delete)."""
        project = self._projects.get(run_id)
        if project is None:
            row = conn.exec_driver_sql(f"SELECT project FROM runs WHERE id = {placeholder(conn)}", (run_id,)).first()
            project = self._projects[run_id] = (row[0] or "") if row is not None else ""
        return project

    def forget_run(self, run_id: str) -> None:
        """The run's project changed or the run is gone (writer thread)."""
        self._projects.pop(run_id, None)

    def stamp(self, conn: Connection, run_id: str) -> Stamp:
        """The fields every change carries, for ``run_id`` (call inside a job)."""
        return Stamp(run_id=run_id, project=self.project_of(conn, run_id), committed_at=time.time())
