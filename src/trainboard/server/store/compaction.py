"""Folding a series' small sealed segments into bigger ones, in the write job that sealed them.

Why: the SDK sends about ten steps per POST, so a key's points arrive as an open tail segment extended in
place and sealed at ``SEAL_POINTS`` (``store/metrics.py``). Every segment carries its own compressed
frames and row, and short columns compress poorly: a 256-point segment of a smooth curve costs ~3.5 bytes
per point, a 4,096-point one ~2.8 (``bench/metric_storage.py``). So once a series' sealed segments of
fewer than ``SMALL_POINTS`` points add up to ``COMPACT_POINTS``, they are merged into one segment
(each point written once more: the write amplification is about one). A run that ends before then
leaves a few small segments per key: when its status leaves ``running`` they are merged whatever their
total, its open tail included (``final``, queued by ``metrics.settle_run``).

Reads stay exact: a merged segment holds exactly the points a read of its parts returned (``merge_points``,
the later of a repeated step wins) and takes the row of the newest part, so its place among the other
segments of the series (the order that decides which write of a step wins) is kept. A group is merged
only when no other segment written between its oldest and newest part overlaps the steps of a part written
before it (that part would move behind it); the open tail is a part only once its run ended. Points and the
pyramid are unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection

from trainboard.server.store import codec
from trainboard.server.store.segments import compress, decode, merge_points
from trainboard.server.store.sql import placeholder, placeholders

#: Sealed segments smaller than ``SMALL_POINTS`` are merged once they add up to ``COMPACT_POINTS``
#: (bigger ones gain little: ~0.2 byte per point).
SMALL_POINTS = 1024
COMPACT_POINTS = 4096


@dataclass
class _Seg:
    id: int
    first: int
    last: int
    n: int


def compact(conn: Connection, *, series_id: int, tail_id: int | None, final: bool = False) -> int:
    """Merge the series' small sealed segments into segments of at least ``COMPACT_POINTS`` points
    (each below ``COMPACT_POINTS + SMALL_POINTS``); returns the number of segments merged away.

    ``final`` (the run ended, ``metrics.settle_run``): the open tail counts as a small segment, and the small
    ones left after the big groups are merged too, however few points they hold."""
    ph = placeholder(conn)
    small = [
        _Seg(int(i), int(a), int(b), int(n))
        for i, a, b, n in conn.exec_driver_sql(
            f"SELECT id, first_step, last_step, n FROM metric_segments WHERE series_id = {ph} AND n < {ph} ORDER BY id",
            (series_id, SMALL_POINTS),
        ).all()
        if final or i != tail_id
    ]
    open_tail = None if final else tail_id
    removed = 0
    start = 0
    while True:
        if sum(s.n for s in small[start:]) >= COMPACT_POINTS:
            end, total = start, 0
            while total < COMPACT_POINTS:
                total += small[end].n
                end += 1
        elif final and len(small) - start >= 2:
            end = len(small)
        else:
            return removed
        group = small[start:end]
        clash = _clash(conn, series_id=series_id, group=group, tail_id=open_tail)
        if clash is not None:  # merge only what was written after it
            start = next((k for k in range(start, len(small)) if small[k].id > clash), len(small))
            continue
        _merge(conn, group)
        removed += len(group) - 1
        start = end


def _clash(conn: Connection, *, series_id: int, group: list[_Seg], tail_id: int | None) -> int | None:
    """The newest other segment, written between the group's oldest and newest part, whose steps overlap a part
    written before it (merged, that part would move behind it)."""
    ph = placeholder(conn)
    lo, hi = min(s.first for s in group), max(s.last for s in group)
    others = conn.exec_driver_sql(
        f"SELECT id, first_step, last_step FROM metric_segments WHERE series_id = {ph} AND id > {ph} AND id < {ph} "
        f"AND (n >= {ph} OR id = {ph}) AND last_step >= {ph} AND first_step <= {ph} ORDER BY id DESC",
        (series_id, group[0].id, group[-1].id, SMALL_POINTS, -1 if tail_id is None else tail_id, lo, hi),
    ).all()
    for other, first, last in others:
        if any(s.id < other and s.last >= first and s.first <= last for s in group):
            return int(other)
    return None


def _merge(conn: Connection, group: list[_Seg]) -> None:
    ph = placeholder(conn)
    ids = [s.id for s in group]
    rows = conn.exec_driver_sql(
        f"SELECT steps, vals, times, codec FROM metric_segments WHERE id IN ({placeholders(conn, len(ids))}) "
        "ORDER BY id",
        tuple(ids),
    ).all()
    merged = merge_points([decode(bytes(s), bytes(v), bytes(t), c) for s, v, t, c in rows])
    st, va, ti = compress(merged.steps, merged.values, merged.times)
    conn.exec_driver_sql(
        f"UPDATE metric_segments SET first_step = {ph}, last_step = {ph}, n = {ph}, steps = {ph}, vals = {ph}, "
        f"times = {ph}, codec = {ph} WHERE id = {ph}",
        (int(merged.steps[0]), int(merged.steps[-1]), len(merged), st, va, ti, codec.ZSTD, ids[-1]),
    )
    gone = tuple(ids[:-1])
    conn.exec_driver_sql(f"DELETE FROM metric_segments WHERE id IN ({placeholders(conn, len(gone))})", gone)
