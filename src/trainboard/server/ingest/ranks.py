"""Ranks of a distributed run through the write path: rank records, a rank's metric points, stragglers.

A rank's metric points (rank N > 0) are written like the run's own (dedupe by the client's stream cursor,
steps, columnar segments) under the rank's series owner (``store.ranks.series_owner``), with the rank's own
last step and a cursor of its own per client stream (so a batch mixing ranks never drops one rank's rows as
another's duplicates). After such a write, at most every ``CHECK_SECONDS`` per run, the ranks' step times are
compared and a new straggler is recorded once: an event of the run and a ``StragglerFlagged`` change.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from trainboard.server.ingest.changes import Change, RankUpdated, StragglerFlagged
from trainboard.server.store import metrics as metrics_store
from trainboard.server.store import rank_steps, ranks
from trainboard.server.store import runs as runs_store
from trainboard.server.store.cursors import advance_cursor
from trainboard.server.store.events import add_event

if TYPE_CHECKING:
    from trainboard.server.state import AppState

#: Stragglers are looked for after a rank's metric write at most this often per run (seconds).
CHECK_SECONDS = 2.0
_last_check: dict[str, float] = {}


async def register_rank(state: AppState, *, run_id: str, rank: int, fields: dict[str, Any]) -> dict[str, Any] | None:
    """Create or update a rank's record (only the given fields); ``None``: no such run."""
    path = state.ingest

    def job(conn: Connection) -> dict[str, Any] | None:
        if runs_store.get_run(conn, run_id=run_id) is None:
            return None
        return ranks.upsert(conn, run_id=run_id, rank=rank, fields=fields)

    def changes(conn: Connection, record: dict[str, Any] | None) -> list[Change]:
        return [] if record is None else [RankUpdated(**path.stamp(conn, run_id), rank=rank, fields=dict(fields))]

    return await path.commit(job, changes)


def rank_stream(stream: str | None, rank: int) -> str | None:
    """The cursor name of a client stream's rows of rank ``rank`` (``~`` is outside client stream names)."""
    if stream is None:
        return None
    base = stream if len(stream) <= 48 else hashlib.sha1(stream.encode(), usedforsecurity=False).hexdigest()[:48]
    return f"{base}~r{rank}"


async def ingest_rank_metrics(
    state: AppState,
    *,
    run_id: str,
    rank: int,
    stream: str | None,
    points: list[metrics_store.Point],
    blocks: list[metrics_store.Block],
) -> metrics_store.IngestResult | None:
    """Write rank ``rank``'s (> 0) points; ``None``: no such run."""
    owner = ranks.series_owner(run_id, rank)
    cursor_name = rank_stream(stream, rank)

    def job(conn: Connection) -> metrics_store.IngestResult | None:
        if runs_store.get_run(conn, run_id=run_id) is None:
            return None
        fresh = metrics_store.dedupe(conn, run_id=run_id, stream=cursor_name, points=points, blocks=blocks)
        last = ranks.rank_last_step(conn, run_id=run_id, rank=rank)
        stepped, last = metrics_store.assign_steps(last, fresh.points, fresh.blocks)
        pieces = metrics_store.columns(stepped, fresh.blocks)
        metrics_store.write_columns(conn, run_id=owner, pieces=pieces, keys=list(pieces))
        ranks.set_rank_last_step(conn, run_id=run_id, rank=rank, step=last)
        if cursor_name is not None and fresh.new_cursor is not None and fresh.new_cursor != fresh.cursor:
            advance_cursor(conn, run_id=run_id, stream=cursor_name, seq=fresh.new_cursor)
        accepted = sum(len(v) for _s, _w, v in stepped) + sum(b.values.size for b in fresh.blocks)
        return metrics_store.IngestResult(accepted, fresh.duplicates, last, stepped, fresh.blocks)

    result = await state.ingest.commit(job)
    if result is not None and result.accepted:
        now = time.monotonic()
        if now - _last_check.get(run_id, 0.0) >= CHECK_SECONDS:
            _last_check[run_id] = now
            await check_stragglers(state, run_id=run_id)
    return result


def measure(state: AppState, run_id: str, records: list[dict[str, Any]]) -> dict[int, rank_steps.StepTimes]:
    """Step times of the run's ranks (rank 0 counted when it has points, registered or not); blocking."""
    rank_list = sorted({0, *(r["rank"] for r in records)})
    with state.engines.reader.connect() as conn:
        return rank_steps.step_times(conn, run_id=run_id, rank_list=rank_list)


async def check_stragglers(
    state: AppState, *, run_id: str, measured: dict[int, rank_steps.StepTimes] | None = None
) -> None:
    """Record each straggler not recorded yet: an event of the run (once per rank) and its change."""
    if measured is None:

        def read() -> dict[int, rank_steps.StepTimes]:
            with state.engines.reader.connect() as conn:
                records = ranks.list_ranks(conn, run_id=run_id)
            return measure(state, run_id, records)

        measured = await asyncio.to_thread(read)
    flagged = {r: t for r, t in measured.items() if t.straggler}
    if not flagged:
        return
    path = state.ingest

    def job(conn: Connection) -> list[tuple[int, rank_steps.StepTimes]]:
        noted = []
        for rank, times in sorted(flagged.items()):
            ranks.rank_sizes(conn, run_id=run_id, ranks={rank})  # rank 0 may have points and no record
            if not ranks.note_straggler(conn, run_id=run_id, rank=rank):
                continue
            add_event(
                conn,
                run_id=run_id,
                kind="straggler",
                message=f"rank {rank} is a straggler: its steps take {times.slower_by_percent}% longer than the "
                f"median of the ranks ({times.median:.3f} s per step)",
                data={"rank": rank, "slower_by_percent": times.slower_by_percent, "step_time_median": times.median},
            )
            noted.append((rank, times))
        return noted

    def changes(conn: Connection, noted: list[tuple[int, rank_steps.StepTimes]]) -> list[Change]:
        return [
            StragglerFlagged(
                **path.stamp(conn, run_id),
                rank=rank,
                slower_by_percent=float(t.slower_by_percent or 0.0),
                step_time_median=float(t.median or 0.0),
            )
            for rank, t in noted
        ]

    await path.commit(job, changes)
