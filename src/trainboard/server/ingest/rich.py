"""Rich values: store an upload's histograms, images, text and tables, then hand the change to subscribers.

Image bytes are written to their content-addressed files (``store.rich.write_blob``) by the router before this
commit; the rows naming them are written here in the single writer's transaction.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from trainboard.server.ingest.changes import Change, RichWritten
from trainboard.server.store import rich as store
from trainboard.server.store import runs as runs_store

if TYPE_CHECKING:
    from trainboard.server.state import AppState

#: What a store job returns: the rows written, or None when the run does not exist.
Stored = list[dict[str, Any]] | None


async def put(state: AppState, *, run_id: str, values: list[dict[str, Any]]) -> Stored:
    """Store ``values`` for ``run_id`` (None: no such run); subscribers get a ``RichWritten``."""
    path = state.ingest

    def job(conn: Connection) -> Stored:
        if runs_store.get_run(conn, run_id=run_id) is None:
            return None
        return store.put(conn, run_id=run_id, values=values)

    def changes(conn: Connection, result: Stored) -> list[Change]:
        if not result:
            return []
        written = tuple((r["key"], int(r["step"]), str(r["kind"])) for r in result)
        return [RichWritten(**path.stamp(conn, run_id), values=written)]

    return await path.commit(job, changes)
