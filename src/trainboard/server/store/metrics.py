"""Metric points: ingest with sequence dedupe, history with spike-preserving downsampling, latest.

Semantics (also in the OpenAPI description and README):
- A point is (step, value, wall time) of one key. Every point is kept; there is no aggregation on write.
- A repeated step for a key replaces the earlier value (last write wins). This is what a resumed run
  needs: it re-logs the steps after its last checkpoint, and the history then reads as one run.
  A decreasing step is accepted and lands at its step.
- A point without a step gets the run's last logged training step + 1 (0 for the first).
- Points carrying a ``seq`` from a client stream are ignored when that stream already committed a seq
  at least as high, so a re-sent batch never duplicates.
- Storage is columnar (``segments``): one segment per key per batch (cut at ``SEGMENT_POINTS``), small
  tails extended in place, small sealed segments merged into bigger ones (``compaction``), every column
  compressed (``codec``). A series with many points also keeps a
  min/max/last pyramid (``pyramid``), maintained here in the same transaction, for coarse views.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
from sqlalchemy import Connection, Engine

from trainboard.server.store import codec, compaction, pyramid, run_summaries
from trainboard.server.store.cursors import advance_cursor, stream_cursor
from trainboard.server.store.runs import FINISHED
from trainboard.server.store.segments import (
    F64,
    I64,
    FloatArray,
    IntArray,
    Points,
    compress,
    decode,
    downsample,
    merge_points,
)
from trainboard.server.store.sql import placeholder, placeholders
from trainboard.server.store.writer import Writer
from trainboard.wire import encode_float

log = logging.getLogger(__name__)

#: Keys of system samples (stepped by epoch milliseconds, not by training step).
SYSTEM_PREFIX = "sys/"
#: A segment holding fewer points than this stays open: later appends extend it in place.
SEAL_POINTS = 256
#: The most points one segment holds (a bigger batch is cut): a zoomed read decodes little beyond its range.
SEGMENT_POINTS = 16_384
#: Whether a write that seals a small segment merges the series' small sealed segments (``compaction``);
#: off only to measure what it saves (``bench/``).
COMPACT = True
#: Whether a small append extends the key's open tail segment in place (rewriting its row); off, every batch
#: is a segment of its own, sealed as written and merged by ``compaction`` (measured in ``bench/``).
EXTEND_TAIL = True

#: A parsed point: (seq or None, step or None, wall time, {key: value}).
Point = tuple[int | None, int | None, float, dict[str, float]]


#: A point after step assignment: (step, wall time, {key: value}).
SteppedPoint = tuple[int, float, dict[str, float]]


@dataclass
class IngestResult:
    accepted: int = 0  # values written
    duplicates: int = 0  # values ignored because their seq was already committed
    last_step: int | None = None
    #: The rows written, in order (for live fan-out, built by the caller): points with their steps, blocks.
    points: list[SteppedPoint] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)


@dataclass
class _Series:
    id: int
    max_step: int | None
    tail_id: int | None
    points: int = 0
    pyramid_base: int | None = None
    pyramid_upto: int | None = None
    changed: bool = False  # max_step, tail_id or points to be written back (``_save_series``)


def _series(conn: Connection, run_id: str, keys: set[str]) -> dict[str, _Series]:
    ph = placeholder(conn)
    conn.exec_driver_sql(
        f"INSERT INTO series (run_id, key) VALUES ({ph}, {ph}) ON CONFLICT (run_id, key) DO NOTHING",
        [(run_id, k) for k in keys],
    )
    out: dict[str, _Series] = {}
    keys_list = list(keys)
    for start in range(0, len(keys_list), 500):
        part = keys_list[start : start + 500]
        rows = conn.exec_driver_sql(
            f"SELECT key, id, max_step, tail_id, points, pyramid_base, pyramid_upto FROM series WHERE run_id = {ph} "
            f"AND key IN ({placeholders(conn, len(part))})",
            (run_id, *part),
        )
        for key, sid, max_step, tail_id, points, base, upto in rows:
            out[key] = _Series(sid, max_step, tail_id, int(points), base, upto)
    return out


TailRow = tuple[bytes, bytes, bytes, int, int]  # steps, vals, times, n, codec of an open tail segment


def _tails(conn: Connection, series: Iterable[_Series]) -> dict[int, TailRow]:
    """The open tail segments of ``series``, by id (one statement per 500)."""
    ids = [s.tail_id for s in series if s.tail_id is not None]
    out: dict[int, TailRow] = {}
    for start in range(0, len(ids), 500):
        part = ids[start : start + 500]
        rows = conn.exec_driver_sql(
            "SELECT id, steps, vals, times, n, codec FROM metric_segments "
            f"WHERE id IN ({placeholders(conn, len(part))})",
            tuple(part),
        )
        for sid, st, va, ti, n, c in rows:
            out[int(sid)] = (bytes(st), bytes(va), bytes(ti), int(n), int(c))
    return out


def _save_series(conn: Connection, series: Iterable[_Series]) -> None:
    """Write back the changed series rows, in one statement."""
    rows = [(s.max_step, s.tail_id, s.points, s.id) for s in series if s.changed]
    if rows:
        ph = placeholder(conn)
        conn.exec_driver_sql(f"UPDATE series SET max_step = {ph}, tail_id = {ph}, points = {ph} WHERE id = {ph}", rows)
    for s in series:
        s.changed = False


def _write_series(
    conn: Connection,
    s: _Series,
    steps: IntArray,
    values: FloatArray,
    times: FloatArray,
    tail_row: TailRow | None = None,
) -> None:
    """One key's points; ``tail_row``: its open tail segment as read (``_tails``), or ``None`` to read it.
    The series row changes in memory (``_save_series`` writes it)."""
    ph = placeholder(conn)
    steps, values, times = steps.astype(I64, copy=False), values.astype(F64, copy=False), times.astype(F64, copy=False)
    if len(steps) > 1 and not bool(np.all(steps[1:] > steps[:-1])):
        merged = merge_points([Points(steps, values, times)])  # unsorted/repeated in batch
        steps, values, times = merged.steps, merged.values, merged.times
    first, last, count = int(steps[0]), int(steps[-1]), len(steps)
    appends = s.max_step is None or first > s.max_step
    if EXTEND_TAIL and appends and s.tail_id is not None and count < 4 * SEAL_POINTS:
        row = tail_row or _tails(conn, [s]).get(s.tail_id)
        if row is not None and row[3] + count <= 4 * SEAL_POINTS:
            old = decode(row[0], row[1], row[2], row[4])
            n = row[3] + count
            st, va, ti = compress(
                np.concatenate([old.steps, steps]),
                np.concatenate([old.values, values]),
                np.concatenate([old.times, times]),
            )
            conn.exec_driver_sql(
                f"UPDATE metric_segments SET steps = {ph}, vals = {ph}, times = {ph}, n = {ph}, last_step = {ph}, "
                f"codec = {ph} WHERE id = {ph}",
                (st, va, ti, n, last, codec.ZSTD, s.tail_id),
            )
            sealed = n >= SEAL_POINTS
            _update_series(s, last, None if sealed else s.tail_id, count)
            _maintain_pyramid(conn, s, first, last, appends=True, sealed=sealed)
            if sealed and COMPACT:
                compaction.compact(conn, series_id=s.id, tail_id=s.tail_id)
            return
    seg_id = 0
    for a in range(0, count, SEGMENT_POINTS):
        b = min(count, a + SEGMENT_POINTS)
        st, va, ti = compress(steps[a:b], values[a:b], times[a:b])
        result = conn.exec_driver_sql(
            "INSERT INTO metric_segments (series_id, first_step, last_step, n, steps, vals, times, codec) "
            f"VALUES ({placeholders(conn, 8)}) RETURNING id",
            (s.id, int(steps[a]), int(steps[b - 1]), b - a, st, va, ti, codec.ZSTD),
        )
        seg_id = result.scalar_one()
    # only an appending segment may become the open tail (an overwrite segment must stay as written)
    if appends:
        tail = seg_id if EXTEND_TAIL and count % SEGMENT_POINTS < SEAL_POINTS and count % SEGMENT_POINTS else None
    else:
        tail = s.tail_id
    _update_series(s, last, tail, count)
    _maintain_pyramid(conn, s, first, last, appends=appends, sealed=not appends or tail is None)
    if COMPACT and 0 < count % SEGMENT_POINTS < compaction.SMALL_POINTS and seg_id != tail:
        compaction.compact(conn, series_id=s.id, tail_id=s.tail_id)  # a small segment sealed as written


def _update_series(s: _Series, last: int, tail: int | None, added: int) -> None:
    top = last if s.max_step is None else max(last, s.max_step)
    s.max_step, s.tail_id, s.points, s.changed = top, tail, s.points + added, True


def _maintain_pyramid(conn: Connection, s: _Series, first: int, last: int, *, appends: bool, sealed: bool) -> None:
    """The pyramid after a write of steps [first, last], or built whole when the series just reached
    ``pyramid.MIN_POINTS`` values.

    Points appended to the open tail segment are folded in when the tail seals (every ``SEAL_POINTS``
    or more): until then the pyramid covers steps up to ``series.pyramid_upto`` and a view reads the
    few points after it raw. So a small append costs no pyramid work; a sealing append recomputes the
    cells from ``pyramid_upto`` on; any other write recomputes the cells it touches.
    """
    if s.pyramid_base is None:
        if s.points >= pyramid.MIN_POINTS:
            build_pyramid(conn, series_id=s.id)
            s.pyramid_base, s.pyramid_upto = _pyramid_state(conn, s.id)
        return
    if appends and not sealed:
        return
    upto = -1 if s.pyramid_upto is None else s.pyramid_upto
    lo = min(first, upto + 1) if appends else first
    cells_lo, cells_hi = pyramid.cell_range(s.pyramid_base, lo, last)
    points = load(conn, series_id=s.id, start=cells_lo, end=cells_hi)
    pyramid.rebuild(conn, series_id=s.id, base=s.pyramid_base, lo=lo, hi=last, points=points)
    if lo <= upto + 1 and s.max_step is not None and last >= s.max_step:
        ph = placeholder(conn)
        conn.exec_driver_sql(f"UPDATE series SET pyramid_upto = {ph} WHERE id = {ph}", (s.max_step, s.id))
        s.pyramid_upto = s.max_step


def _pyramid_state(conn: Connection, series_id: int) -> tuple[int | None, int | None]:
    """(cell width, last step covered) of a series' pyramid; (None, None) without one."""
    ph = placeholder(conn)
    row = conn.exec_driver_sql(f"SELECT pyramid_base, pyramid_upto FROM series WHERE id = {ph}", (series_id,)).first()
    if row is None or row[0] is None:
        return None, None
    return int(row[0]), None if row[1] is None else int(row[1])


def build_pyramid(conn: Connection, *, series_id: int) -> None:
    """(Re)build a series' pyramid from all its points (also used by migration 0008), at the cell width it
    has, or one chosen from its points' spacing."""
    ph = placeholder(conn)
    everything = load(conn, series_id=series_id)
    conn.exec_driver_sql(f"DELETE FROM metric_pyramid WHERE series_id = {ph}", (series_id,))
    if not len(everything):
        return
    base = _pyramid_state(conn, series_id)[0] or pyramid.choose_base(everything)
    lo, hi = int(everything.steps[0]), int(everything.steps[-1])
    pyramid.rebuild(conn, series_id=series_id, base=base, lo=lo, hi=hi, points=everything)
    conn.exec_driver_sql(
        f"UPDATE series SET pyramid_base = {ph}, pyramid_upto = {ph} WHERE id = {ph}", (base, hi, series_id)
    )


@dataclass
class Block:
    """Rows of points sharing one key set (the SDK's columnar encoding): values[row, key]."""

    keys: list[str]
    seqs: IntArray | None
    steps: IntArray
    times: FloatArray
    values: FloatArray


@dataclass
class Fresh:
    """What a stream has not committed yet, and the cursor it moves to when written."""

    points: list[Point]
    blocks: list[Block]
    duplicates: int  # values dropped
    cursor: int | None  # the stream's cursor as read (None without a stream)
    new_cursor: int | None


def dedupe(conn: Connection, *, run_id: str, stream: str | None, points: list[Point], blocks: list[Block]) -> Fresh:
    """Drop the rows whose seq the stream already committed (a re-sent batch)."""
    cursor = None if stream is None else stream_cursor(conn, run_id=run_id, stream=stream)
    if cursor is None:
        return Fresh(points, blocks, 0, None, None)
    fresh_points, duplicates, top = _fresh_points(points, cursor)
    fresh_blocks: list[Block] = []
    for block in blocks:
        fresh, dropped, block_top = _fresh_rows(block, cursor)
        duplicates += dropped
        top = max(top, block_top)
        if len(fresh.steps):
            fresh_blocks.append(fresh)
    return Fresh(fresh_points, fresh_blocks, duplicates, cursor, top)


def _fresh_points(points: list[Point], cursor: int) -> tuple[list[Point], int, int]:
    """The points above ``cursor`` (or without a seq), the values dropped, the highest seq kept (or cursor)."""
    fresh: list[Point] = []
    duplicates, top = 0, cursor
    for point in points:
        seq = point[0]
        if seq is not None and seq <= cursor:
            duplicates += len(point[3])
            continue
        if seq is not None:
            top = max(top, seq)
        fresh.append(point)
    return fresh, duplicates, top


def _fresh_rows(block: Block, cursor: int) -> tuple[Block, int, int]:
    """The block's rows above ``cursor`` (all without seqs), the values dropped, the highest seq kept (or cursor)."""
    if block.seqs is None:
        return block, 0, cursor
    fresh = block.seqs > cursor
    dropped = int(np.count_nonzero(~fresh)) * len(block.keys)
    top = int(block.seqs[fresh].max()) if fresh.any() else cursor
    if not fresh.all():
        block = Block(block.keys, block.seqs[fresh], block.steps[fresh], block.times[fresh], block.values[fresh])
    return block, dropped, top


def _trains(keys: Iterable[str]) -> bool:
    """Whether a row moves the run's training step (system samples are stepped by wall-clock ms)."""
    return not all(k.startswith(SYSTEM_PREFIX) for k in keys)


def assign_steps(
    last_step: int | None, points: list[Point], blocks: list[Block]
) -> tuple[list[SteppedPoint], int | None]:
    """Points with their steps (a point without one gets the run's last training step + 1, 0 for the
    first), and the run's last training step after the points and the blocks."""
    stepped: list[SteppedPoint] = []
    for _seq, step, wall, values in points:
        if step is None:
            step = 0 if last_step is None else last_step + 1
        if _trains(values):
            last_step = step
        stepped.append((step, wall, values))
    for block in blocks:
        if _trains(block.keys):
            last_step = int(block.steps[-1])
    return stepped, last_step


Pieces = dict[str, list[tuple[IntArray, FloatArray, FloatArray]]]


def columns(points: list[SteppedPoint], blocks: list[Block]) -> Pieces:
    """The rows as columns per key: (steps, values, times) pieces, in row order."""
    pieces: Pieces = {}
    if points:
        cols: dict[str, tuple[list[int], list[float], list[float]]] = {}
        for step, wall, values in points:
            for key, value in values.items():
                col = cols.get(key)
                if col is None:
                    col = cols[key] = ([], [], [])
                col[0].append(step)
                col[1].append(value)
                col[2].append(wall)
        for key, (steps, vals, times) in cols.items():
            pieces.setdefault(key, []).append((np.array(steps, I64), np.array(vals, F64), np.array(times, F64)))
    for block in blocks:
        for j, key in enumerate(block.keys):
            pieces.setdefault(key, []).append((block.steps, np.ascontiguousarray(block.values[:, j]), block.times))
    return pieces


@dataclass
class _Plan:
    """A batch after dedupe, before any write: the points per key, and what the run row gets at the end."""

    result: IngestResult
    pieces: Pieces
    last_step: int | None
    max_seq: int | None
    new_max: int | None


def _plan(
    conn: Connection, *, run_id: str, stream: str | None, points: list[Point] | None, blocks: list[Block] | None
) -> _Plan | None:
    """Read the run's last step, dedupe by the stream's cursor, assign steps, group by key."""
    ph = placeholder(conn)
    row = conn.exec_driver_sql(f"SELECT last_step FROM runs WHERE id = {ph}", (run_id,)).first()
    if row is None:
        return None
    fresh = dedupe(conn, run_id=run_id, stream=stream, points=points or [], blocks=blocks or [])
    stepped, last_step = assign_steps(row[0], fresh.points, fresh.blocks)
    accepted = sum(len(v) for _s, _w, v in stepped) + sum(b.values.size for b in fresh.blocks)
    result = IngestResult(accepted, fresh.duplicates, last_step, stepped, fresh.blocks)
    return _Plan(result, columns(stepped, fresh.blocks), last_step, fresh.cursor, fresh.new_cursor)


def write_columns(conn: Connection, *, run_id: str, pieces: Pieces, keys: list[str]) -> None:
    """The columnar write of ``keys``' pieces: one segment per key (or its open tail extended)."""
    if not keys:
        return
    series = _series(conn, run_id, set(keys))
    tails = _tails(conn, (series[k] for k in keys))
    written: list[run_summaries.Written] = []
    for key in keys:
        parts = pieces[key]
        if len(parts) == 1:
            st_arr, va_arr, ti_arr = parts[0]
        else:
            st_arr = np.concatenate([p[0] for p in parts])
            va_arr = np.concatenate([p[1] for p in parts])
            ti_arr = np.concatenate([p[2] for p in parts])
        written.append(run_summaries.Written(key, series[key].id, series[key].max_step, st_arr, va_arr))
        s = series[key]
        _write_series(conn, s, st_arr, va_arr, ti_arr, None if s.tail_id is None else tails.get(s.tail_id))
    _save_series(conn, series.values())
    run_summaries.record(conn, run_id=run_id, written=written, load=lambda c, sid: load(c, series_id=sid))


def _finish(conn: Connection, *, run_id: str, stream: str | None, plan: _Plan) -> None:
    """The run row's last step and heartbeat, then the stream's cursor: last, so that a batch cut short
    (a crash between its parts) is sent again whole by the client (rewriting a step is idempotent)."""
    ph = placeholder(conn)
    if plan.pieces:
        conn.exec_driver_sql(
            f"UPDATE runs SET last_step = {ph}, heartbeat_time = {ph} WHERE id = {ph}",
            (plan.last_step, time.time(), run_id),
        )
    if stream is not None and plan.new_max is not None and plan.new_max != plan.max_seq:
        advance_cursor(conn, run_id=run_id, stream=stream, seq=plan.new_max)


def ingest(
    conn: Connection,
    *,
    run_id: str,
    stream: str | None,
    points: list[Point] | None = None,
    blocks: list[Block] | None = None,
) -> IngestResult | None:
    """Write points of one run in the caller's transaction: dedupe by the stream's cursor, assign steps,
    write the columns, then the run row and the cursor. Returns ``None`` for an unknown run."""
    plan = _plan(conn, run_id=run_id, stream=stream, points=points, blocks=blocks)
    if plan is None:
        return None
    write_columns(conn, run_id=run_id, pieces=plan.pieces, keys=list(plan.pieces))
    _finish(conn, run_id=run_id, stream=stream, plan=plan)
    return plan.result


#: The most one write job does for a batch: keys (series rows) and values. A larger batch is written as
#: several jobs committed one after another; the writer is first-in first-out, so every other client's
#: write waits for one part at most, never for the whole batch.
PART_KEYS = 500
PART_VALUES = 200_000


def batch_size(points: list[Point] | None, blocks: list[Block] | None) -> tuple[int, int]:
    """(keys at most, values) of a parsed batch, cheaply (no set of keys is built: this runs on the event
    loop); the keys are counted once per point or block."""
    keys = values = 0
    for _seq, _step, _wall, vals in points or ():
        keys += len(vals)
        values += len(vals)
    for block in blocks or ():
        keys += len(block.keys)
        values += block.values.size
    return keys, values


def _groups(plan: _Plan) -> list[list[str]]:
    groups: list[list[str]] = [[]]
    values = 0
    for key, parts in plan.pieces.items():
        n = sum(len(p[0]) for p in parts)
        if groups[-1] and (len(groups[-1]) >= PART_KEYS or values + n > PART_VALUES):
            groups.append([])
            values = 0
        groups[-1].append(key)
        values += n
    return groups


async def ingest_in_parts(
    writer: Writer,
    reader: Engine,
    *,
    run_id: str,
    stream: str | None,
    points: list[Point] | None = None,
    blocks: list[Block] | None = None,
    precheck: Callable[[Connection], str | None] | None = None,
) -> IngestResult | str | None:
    """``ingest`` through ``writer``: one job for a batch within one part's bounds (the usual case), else
    one job per part of at most ``PART_KEYS`` keys and ``PART_VALUES`` values, the cursor in the last.
    A huge batch is grouped by key (the CPU-heavy step) in a worker thread with ``reader``, outside the
    writer. ``precheck(conn)`` runs first in the writer: a message it returns refuses the batch (and is
    returned); ``None`` for an unknown run."""
    keys, values = batch_size(points, blocks)
    if keys <= PART_KEYS and values <= PART_VALUES:

        def whole(conn: Connection) -> IngestResult | str | None:
            if precheck is not None and (refused := precheck(conn)) is not None:
                return refused
            return ingest(conn, run_id=run_id, stream=stream, points=points, blocks=blocks)

        return await writer.run(whole)

    def plan_outside() -> _Plan | None:
        with reader.connect() as conn:
            return _plan(conn, run_id=run_id, stream=stream, points=points, blocks=blocks)

    plan = await asyncio.to_thread(plan_outside)
    if plan is None:
        return None
    groups = _groups(plan)

    def part(conn: Connection, *, index: int) -> str | bool:
        if index == 0 and precheck is not None and (refused := precheck(conn)) is not None:
            return refused
        ph = placeholder(conn)
        if conn.exec_driver_sql(f"SELECT 1 FROM runs WHERE id = {ph}", (run_id,)).first() is None:
            return False  # deleted meanwhile
        write_columns(conn, run_id=run_id, pieces=plan.pieces, keys=groups[index])
        if index == len(groups) - 1:
            _finish(conn, run_id=run_id, stream=stream, plan=plan)
        return True

    for index in range(len(groups)):
        outcome = await writer.run(partial(part, index=index))
        if isinstance(outcome, str):
            return outcome
        if not outcome:
            return None
    return plan.result


#: Series settled per write job once a run ended (``settle_run``): another client's write waits for one job at most.
SETTLE_SERIES = 200


def settle(conn: Connection, *, run_id: str, after: int = 0, limit: int = SETTLE_SERIES) -> int | None:
    """Merge the small segments a run left, open tails included (``compaction.compact`` ``final``), of up to
    ``limit`` of its series with ids above ``after``; returns the last id done when more may follow, else
    ``None``. A merged series' tail is sealed: a late batch for the run starts a new segment. Idempotent."""
    ph = placeholder(conn)
    rows = conn.exec_driver_sql(
        f"SELECT id, tail_id FROM series WHERE run_id = {ph} AND id > {ph} ORDER BY id LIMIT {int(limit)}",
        (run_id, after),
    ).all()
    for sid, tail in rows:
        if compaction.compact(conn, series_id=sid, tail_id=tail, final=True) and tail is not None:
            conn.exec_driver_sql(f"UPDATE series SET tail_id = NULL WHERE id = {ph}", (sid,))
    return int(rows[-1][0]) if len(rows) == limit else None


def settle_run(writer: Writer, *, run_id: str) -> None:
    """Queue ``settle`` of a run in ``writer`` without waiting (off the request path): one job per
    ``SETTLE_SERIES`` series, each queued once the one before committed, so other writes interleave.
    A failure is logged and leaves the segments as they were (reads are the same either way)."""

    def queue(after: int) -> None:
        writer.submit(partial(settle, run_id=run_id, after=after)).add_done_callback(done)

    def done(job: Future[int | None]) -> None:
        if job.cancelled():
            return
        if (exc := job.exception()) is not None:
            log.warning("run %s: merging its small metric segments failed: %s", run_id, exc)
        elif (last := job.result()) is not None:
            queue(last)

    queue(0)


def settle_ended_run(writer: Writer, old: dict[str, Any], new: dict[str, Any]) -> None:
    """``settle_run`` when a status change (``runs.update_run``'s old and new rows) ended the run."""
    if new["status"] != old["status"] and new["status"] in FINISHED:
        settle_run(writer, run_id=str(new["id"]))


def list_keys(conn: Connection, *, run_id: str) -> dict[str, int]:
    ph = placeholder(conn)
    rows = conn.exec_driver_sql(f"SELECT key, id FROM series WHERE run_id = {ph} ORDER BY key", (run_id,))
    return {k: i for k, i in rows}


def load(conn: Connection, *, series_id: int, start: int | None = None, end: int | None = None) -> Points:
    """All points of a series within [start, end], merged (index range scan over its segments)."""
    ph = placeholder(conn)
    lo = 0 if start is None else start
    hi = (2**63 - 1) if end is None else end
    rows = conn.exec_driver_sql(
        f"SELECT steps, vals, times, codec FROM metric_segments WHERE series_id = {ph} AND last_step >= {ph} "
        f"AND first_step <= {ph} ORDER BY id",
        (series_id, lo, hi),
    ).all()
    points = merge_points([decode(bytes(s), bytes(v), bytes(t), c) for s, v, t, c in rows])
    return points if start is None and end is None else points.slice_steps(lo, hi)


def _wire(values: list[float]) -> list[float | str]:
    return [v if v - v == 0 else encode_float(v) for v in values]


def history(
    conn: Connection, *, series_id: int, start: int | None, end: int | None, max_points: int | None
) -> dict[str, Any]:
    """Points of one series in [start, end]; at most ``max_points`` of them when given.

    Downsampling splits the step range into buckets and keeps, per bucket, the points holding the
    minimum and the maximum value, the last point, and the first NaN: spikes and divergence survive
    any zoom level. A range wide enough is answered from the series' pyramid (buckets aligned to its
    cells, the raw points at the range's ends); a narrower one from the raw points (a zoomed view is exact).
    """
    base, upto = _pyramid_state(conn, series_id) if max_points is not None else (None, None)
    if base is not None and upto is not None and max_points is not None:
        ph = placeholder(conn)
        bounds = conn.exec_driver_sql(
            f"SELECT MIN(first_step), MAX(last_step) FROM metric_segments WHERE series_id = {ph}", (series_id,)
        ).first()
        if bounds is not None and bounds[0] is not None:
            lo = max(int(bounds[0]), 0 if start is None else start)
            hi = min(int(bounds[1]), 2**63 - 1 if end is None else end)
            coarse = pyramid.view(
                conn,
                series_id=series_id,
                base=base,
                lo=lo,
                hi=hi,
                max_points=max_points,
                upto=upto,
                load_raw=lambda a, b: load(conn, series_id=series_id, start=a, end=b),
            )
            if coarse is not None:
                return _history_out(coarse.points, coarse.count)
    points = load(conn, series_id=series_id, start=start, end=end)
    count = len(points)
    return _history_out(downsample(points, max_points) if max_points is not None else points, count)


def _history_out(shown: Points, count: int) -> dict[str, Any]:
    return {
        "count": count,
        "step": shown.steps.tolist(),
        "value": _wire(shown.values.tolist()),
        "timestamp": shown.times.tolist(),
        "downsampled": len(shown) < count,
    }


def latest(conn: Connection, *, run_id: str) -> dict[str, dict[str, Any]]:
    """The point at the highest step of every key."""
    ph = placeholder(conn)
    out: dict[str, dict[str, Any]] = {}
    for key, sid, max_step in conn.exec_driver_sql(
        f"SELECT key, id, max_step FROM series WHERE run_id = {ph} AND max_step IS NOT NULL ORDER BY key", (run_id,)
    ).all():
        points = load(conn, series_id=sid, start=max_step, end=max_step)
        if len(points):
            out[key] = {
                "step": int(points.steps[-1]),
                "value": _wire([float(points.values[-1])])[0],
                "timestamp": float(points.times[-1]),
            }
    return out
