"""The ranks of a distributed run (issue 27): records, per-rank byte offsets, rank metric series.

A run's ranks share its id. Each rank has a record (``run_ranks``: where it runs, how it ended) written by an
idempotent upsert that changes only the fields given. Its raw terminal bytes are rows of ``log_chunks`` with
``rank`` set and ``rank_offset`` counting that rank's own stream (``run_ranks.log_size`` is its end), so a
rank's stream is read and resumed by its own offsets while the run's global offsets keep arrival order.

Inside the write path a rank's chunks and lines travel with a *tagged source*, ``"stdout#3"``
(``rank_source``): the line indexer keeps one splitter per tagged source, so two ranks' bytes are never glued
into one line, and the line store splits the tag back into ``source`` and ``rank`` columns.

Metric points of rank N (N > 0) are stored as series of the rank's *series owner* (``series_owner``), a name
no run id can take (``~`` is outside run ids), so the run's own keys (rank 0, what charts show by default),
its summaries and filters are untouched; ``delete_run`` removes them with the run.
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

from sqlalchemy import Connection, delete, func, select

from trainboard.server.store.ranks_tables import run_ranks
from trainboard.server.store.sql import placeholder
from trainboard.server.store.tables import log_chunks, metric_pyramid, metric_segments, series

#: The highest rank accepted (the wire format's bound: 2**20 - 1).
MAX_RANK = 1_048_575
#: Error text kept per rank at most (characters).
MAX_ERROR = 4000
LAUNCHERS = ("torchrun", "accelerate", "deepspeed", "slurm", "mpi", "unknown")
#: Fields a client sets (PUT .../ranks/{rank}).
FIELDS = ("local_rank", "node", "node_rank", "world_size", "pid", "gpus", "launcher", "exit_code", "ended_at", "error")

_TAG = "#"


def rank_source(source: str, rank: int | None) -> str:
    """The tagged source of a rank's chunk or line (``source`` itself when unranked)."""
    return source if rank is None else f"{source}{_TAG}{rank}"


def split_source(tagged: str) -> tuple[str, int | None]:
    """``(source, rank)`` of a tagged source (``rank`` None when untagged)."""
    source, sep, rank = tagged.partition(_TAG)
    return (source, int(rank)) if sep else (source, None)


def series_owner(run_id: str, rank: int) -> str:
    """The ``series.run_id`` under which rank ``rank`` (> 0) of ``run_id`` keeps its metric series."""
    digest = hashlib.sha1(run_id.encode(), usedforsecurity=False).hexdigest()
    return f"~r{rank}~{digest}"


def _row(r: Any) -> dict[str, Any]:
    out = {k: r[k] for k in ("rank", *FIELDS)}
    out["gpus"] = json.loads(r["gpus"]) if r["gpus"] else None
    out["bytes"] = int(r["log_size"])
    out["straggler_noted"] = bool(r["straggler_noted"])  # internal: its straggler event is recorded
    return out


def get(conn: Connection, *, run_id: str, rank: int) -> dict[str, Any] | None:
    row = conn.execute(select(run_ranks).where(run_ranks.c.run_id == run_id, run_ranks.c.rank == rank)).mappings()
    found = row.first()
    return None if found is None else _row(found)


def upsert(conn: Connection, *, run_id: str, rank: int, fields: dict[str, Any]) -> dict[str, Any]:
    """Create the rank's record or update the given fields only; returns the stored record."""
    values = {k: v for k, v in fields.items() if k in FIELDS}
    if "gpus" in values and values["gpus"] is not None:
        values["gpus"] = json.dumps(values["gpus"])
    if values.get("error") is not None:
        values["error"] = str(values["error"])[:MAX_ERROR]
    now = time.time()
    exists = conn.execute(
        select(run_ranks.c.rank).where(run_ranks.c.run_id == run_id, run_ranks.c.rank == rank)
    ).first()
    if exists is None:
        conn.execute(run_ranks.insert().values(run_id=run_id, rank=rank, updated_at=now, **values))
    elif values:
        conn.execute(
            run_ranks.update()
            .where(run_ranks.c.run_id == run_id, run_ranks.c.rank == rank)
            .values(updated_at=now, **values)
        )
    found = get(conn, run_id=run_id, rank=rank)
    assert found is not None
    return found


def list_ranks(conn: Connection, *, run_id: str) -> list[dict[str, Any]]:
    """Every rank's record, by rank."""
    rows = conn.execute(select(run_ranks).where(run_ranks.c.run_id == run_id).order_by(run_ranks.c.rank)).mappings()
    return [_row(r) for r in rows]


def has_ranks(conn: Connection, *, run_id: str) -> bool:
    return conn.execute(select(run_ranks.c.rank).where(run_ranks.c.run_id == run_id).limit(1)).first() is not None


def first_failure(records: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The rank that failed first: the earliest ``ended_at`` among ranks with a non-zero exit code (a failed
    rank without ``ended_at`` counts after those with one)."""
    failed = [r for r in records if r.get("exit_code") not in (None, 0)]
    if not failed:
        return None
    first = min(failed, key=lambda r: (r["ended_at"] is None, r["ended_at"] or 0.0, r["rank"]))
    return {k: first[k] for k in ("rank", "node", "error", "ended_at")}


# -- per-rank byte offsets (used by store.logs.append inside the writer) --------------------------------------


def rank_sizes(conn: Connection, *, run_id: str, ranks: set[int]) -> dict[int, int]:
    """The current end offset of each rank's stream, creating a record for a rank not registered yet."""
    if not ranks:
        return {}
    rows = conn.execute(
        select(run_ranks.c.rank, run_ranks.c.log_size).where(run_ranks.c.run_id == run_id, run_ranks.c.rank.in_(ranks))
    ).all()
    sizes = {int(r[0]): int(r[1]) for r in rows}
    missing = ranks - set(sizes)
    if missing:
        now = time.time()
        conn.execute(run_ranks.insert(), [{"run_id": run_id, "rank": r, "updated_at": now} for r in sorted(missing)])
        sizes |= dict.fromkeys(missing, 0)
    return sizes


def set_rank_sizes(conn: Connection, *, run_id: str, sizes: dict[int, int]) -> None:
    for rank, size in sizes.items():
        conn.execute(
            run_ranks.update().where(run_ranks.c.run_id == run_id, run_ranks.c.rank == rank).values(log_size=size)
        )


def rank_extent(conn: Connection, *, run_id: str, rank: int) -> tuple[int, int] | None:
    """(first offset still stored, end offset) of a rank's stream; ``None`` for an unknown rank."""
    size = conn.execute(
        select(run_ranks.c.log_size).where(run_ranks.c.run_id == run_id, run_ranks.c.rank == rank)
    ).scalar()
    if size is None:
        return None
    start = conn.execute(
        select(func.min(log_chunks.c.rank_offset)).where(log_chunks.c.run_id == run_id, log_chunks.c.rank == rank)
    ).scalar()
    return (int(size) if start is None else int(start)), int(size)


def read_rank(conn: Connection, *, run_id: str, rank: int, offset: int, limit: int) -> bytes:
    """Bytes [offset, offset + limit) of one rank's stream (fewer at its end)."""
    from trainboard.server.store import codec

    ph = placeholder(conn)
    end = offset + limit
    row = conn.exec_driver_sql(
        f"SELECT MAX(rank_offset) FROM log_chunks WHERE run_id = {ph} AND rank = {ph} AND rank_offset <= {ph}",
        (run_id, rank, offset),
    ).first()
    pos = offset if row is None or row[0] is None else int(row[0])
    rows = conn.exec_driver_sql(
        f"SELECT rank_offset, data, codec FROM log_chunks WHERE run_id = {ph} AND rank = {ph} "
        f"AND rank_offset >= {ph} AND rank_offset < {ph} ORDER BY rank_offset",
        (run_id, rank, pos, end),
    ).all()
    out = []
    for off, stored, how in rows:
        data = codec.decode_bytes(bytes(stored), how)
        lo = max(0, offset - int(off))
        hi = min(len(data), end - int(off))
        if lo < hi:
            out.append(data[lo:hi])
    return b"".join(out)


# -- straggler bookkeeping, deletion ------------------------------------------------------------------------


def note_straggler(conn: Connection, *, run_id: str, rank: int) -> bool:
    """Mark the rank's straggler event as recorded; False when it already was (the event is recorded once)."""
    done = conn.execute(
        run_ranks.update()
        .where(run_ranks.c.run_id == run_id, run_ranks.c.rank == rank, run_ranks.c.straggler_noted.is_(False))
        .values(straggler_noted=True)
    ).rowcount
    return bool(done)


def rank_last_step(conn: Connection, *, run_id: str, rank: int) -> int | None:
    step = conn.execute(
        select(run_ranks.c.last_step).where(run_ranks.c.run_id == run_id, run_ranks.c.rank == rank)
    ).scalar()
    return None if step is None else int(step)


def set_rank_last_step(conn: Connection, *, run_id: str, rank: int, step: int | None) -> None:
    rank_sizes(conn, run_id=run_id, ranks={rank})  # the record exists from here on
    conn.execute(
        run_ranks.update().where(run_ranks.c.run_id == run_id, run_ranks.c.rank == rank).values(last_step=step)
    )


def delete_run(conn: Connection, *, run_id: str) -> int:
    """Remove the run's rank records and its ranks' metric series (the run is deleted); returns records removed."""
    owners = [
        series_owner(run_id, r)
        for r in conn.execute(
            select(run_ranks.c.rank).where(run_ranks.c.run_id == run_id, run_ranks.c.rank > 0)
        ).scalars()
    ]
    if owners:
        ids = select(series.c.id).where(series.c.run_id.in_(owners)).scalar_subquery()
        conn.execute(delete(metric_segments).where(metric_segments.c.series_id.in_(ids)))
        conn.execute(delete(metric_pyramid).where(metric_pyramid.c.series_id.in_(ids)))
        conn.execute(delete(series).where(series.c.run_id.in_(owners)))
        from trainboard.server.store import run_summaries

        for owner in owners:
            run_summaries.delete_run(conn, run_id=owner)
    return int(conn.execute(delete(run_ranks).where(run_ranks.c.run_id == run_id)).rowcount)
