"""Multi-resolution summaries of a long metric series: the view of a whole 10M-point key in milliseconds.

Why: a full-range chart of one key with 10,000,000 points would otherwise decode and scan every point
for every request (~80 MB per column). Instead each series with at least ``MIN_POINTS`` points keeps a
pyramid of *cells*, maintained at ingest in the writer's transaction (``metric_pyramid`` rows):

- level ``k`` cuts the step axis into cells of ``base * FANOUT**k`` steps, aligned at multiples of that
  width; ``base`` is fixed per series when its pyramid is built (``CELL_POINTS`` times its step spacing
  then, a power of two), so a level-0 cell holds about ``CELL_POINTS`` points whatever the spacing;
- a cell holds the count, the first and last point, the minimum and maximum (NaN left out; the earliest
  such point on ties), and the first NaN, each as (step, value, wall time).

A query for ``max_points`` over ``[start, end]`` wants ``max_points // 4`` step buckets. It reads the
coarsest level whose cells are at most half a bucket wide, widens the buckets to a whole number of cells
(aligned to them, so a bucket is a union of whole cells and fewer buckets, never more, are returned),
and takes the raw points for the partial cells at the two ends of the range. Per bucket it returns
the same points the raw downsampler keeps -- the minimum, the maximum, the last point and the first NaN
-- so spikes and divergence survive exactly as in a view computed from the raw points, plus the range's
first point; ``count`` is exact. A view narrower than that (a zoom) is computed from the raw points, as before: exact.

A write into a series that has a pyramid recomputes the touched cells: level 0 from the raw points of
those cells (so a repeated step that replaces a value is reflected), each level above from its children
(the untouched ones read in one statement), all levels written in one upsert.
Appends to the open tail segment are folded in when it seals (``store/metrics.py``); until then the
pyramid covers the steps up to ``series.pyramid_upto`` and views read the few points after it raw.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection

from trainboard.server.store.segments import F64, I64, FloatArray, IntArray, Points
from trainboard.server.store.sql import placeholder, placeholders

#: A series gets its pyramid once this many values were written to it (a raw scan of fewer is ~1 ms).
MIN_POINTS = 50_000
#: Points per level-0 cell (at the series' step spacing when the pyramid was built).
CELL_POINTS = 512
#: Each level's cells are this many times wider than the level below.
FANOUT = 4
#: Levels kept: level 4 cells span 512 * 4**4 = 131,072 points of the build-time spacing, so a view of
#: 100M points reads ~3,000 cells; fewer levels make each write cheaper (every level is recomputed).
LEVELS = 5

_ABSENT = -1  # step of a missing minimum / maximum / NaN (steps are >= 0)


@dataclass
class Cells:
    """Columnar cells (or buckets), sorted by ``key`` and, within a key, by step."""

    key: IntArray
    n: IntArray
    first_step: IntArray
    first_value: FloatArray
    first_time: FloatArray
    min_step: IntArray
    min_value: FloatArray
    min_time: FloatArray
    max_step: IntArray
    max_value: FloatArray
    max_time: FloatArray
    last_step: IntArray
    last_value: FloatArray
    last_time: FloatArray
    nan_step: IntArray
    nan_time: FloatArray

    def __len__(self) -> int:
        return len(self.key)

    def take(self, idx: IntArray) -> Cells:
        return Cells(*(getattr(self, f.name)[idx] for f in fields(self)))

    @classmethod
    def concat(cls, parts: list[Cells]) -> Cells:
        return Cells(*(np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(cls)))


#: Stored columns after (series_id, level, cell), in ``Cells`` order after ``key``.
_COLUMNS = [f.name for f in fields(Cells)][1:]
_INT_COLUMNS = {f.name for f in fields(Cells) if f.type == "IntArray"}


def singletons(points: Points) -> Cells:
    """Every point as a cell of its own (keyed by its step)."""
    nan = np.isnan(points.values)
    s, v, t = points.steps, points.values, points.times
    absent = np.where(nan, _ABSENT, s)
    none = np.where(nan, np.nan, v)
    return Cells(
        s, np.ones(len(s), I64), s, v, t, absent, none, t, absent, none, t, s, v, t,
        np.where(nan, s, _ABSENT), t,
    )  # fmt: skip


def combine(cells: Cells, key: IntArray) -> Cells:
    """Cells grouped by ``key`` (non-decreasing), each group summarised as one cell."""
    m = len(cells)
    if m == 0:
        return cells
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    ends = np.r_[starts[1:], m] - 1
    sizes = np.diff(np.r_[starts, m])
    idx = np.arange(m)
    big = np.iinfo(np.int64).max

    def first_where(mask: npt.NDArray[np.bool_]) -> tuple[IntArray, npt.NDArray[np.bool_]]:
        """Per group, the first index where ``mask`` holds (cells are in step order: the earliest step)."""
        first = np.minimum.reduceat(np.where(mask, idx, big), starts)
        found = first != big
        return np.where(found, first, starts), found

    has_min = cells.min_step != _ABSENT
    lo = np.where(has_min, cells.min_value, np.inf)
    i_min, ok_min = first_where(has_min & (lo == np.repeat(np.minimum.reduceat(lo, starts), sizes)))
    has_max = cells.max_step != _ABSENT
    hi = np.where(has_max, cells.max_value, -np.inf)
    i_max, ok_max = first_where(has_max & (hi == np.repeat(np.maximum.reduceat(hi, starts), sizes)))
    i_nan, nan_ok = first_where(cells.nan_step != _ABSENT)
    return Cells(
        key[starts],
        np.add.reduceat(cells.n, starts),
        cells.first_step[starts], cells.first_value[starts], cells.first_time[starts],
        np.where(ok_min, cells.min_step[i_min], _ABSENT), np.where(ok_min, cells.min_value[i_min], np.nan),
        cells.min_time[i_min],
        np.where(ok_max, cells.max_step[i_max], _ABSENT), np.where(ok_max, cells.max_value[i_max], np.nan),
        cells.max_time[i_max],
        cells.last_step[ends], cells.last_value[ends], cells.last_time[ends],
        np.where(nan_ok, cells.nan_step[i_nan], _ABSENT), cells.nan_time[i_nan],
    )  # fmt: skip


def width(base: int, level: int) -> int:
    return int(base * FANOUT**level)


def choose_base(points: Points) -> int:
    """Level-0 cell width for a series: ``CELL_POINTS`` times its mean step spacing, a power of two."""
    if len(points) < 2:
        return CELL_POINTS
    spacing = max(1.0, (int(points.steps[-1]) - int(points.steps[0])) / (len(points) - 1))
    return int(CELL_POINTS * 2 ** round(math.log2(spacing)))


# --- storage -----------------------------------------------------------------------------------------


def _cells(rows: Sequence[Any], columns: int) -> Cells:
    """Rows of (cell, stored columns...) as cells."""
    # one C-level conversion: NULL (absent, or NaN that SQLite stores as NULL) becomes NaN; steps and cell
    # numbers are below 2**53, exact as float64
    table = np.array([tuple(r) for r in rows], dtype=F64).reshape(len(rows), columns)
    out: list[Any] = []
    for j, name in enumerate(["key", *_COLUMNS]):
        col = table[:, j]
        if name in _INT_COLUMNS:
            out.append(np.where(np.isnan(col), _ABSENT, col).astype(I64))
        else:
            out.append(np.ascontiguousarray(col))
    return Cells(*out)


def _read(conn: Connection, series_id: int, level: int, lo: int, hi: int) -> Cells:
    ph = placeholder(conn)
    rows = conn.exec_driver_sql(
        f"SELECT cell, {', '.join(_COLUMNS)} FROM metric_pyramid WHERE series_id = {ph} AND level = {ph} "
        f"AND cell >= {ph} AND cell <= {ph} ORDER BY cell",
        (series_id, level, lo, hi),
    ).all()
    return _cells(rows, len(_COLUMNS) + 1)


def _read_levels(conn: Connection, series_id: int, ranges: list[tuple[int, int, int]]) -> dict[int, Cells]:
    """The cells of several (level, lo, hi) ranges in one statement, by level."""
    ph = placeholder(conn)
    where = " OR ".join(f"(level = {ph} AND cell >= {ph} AND cell <= {ph})" for _ in ranges)
    rows = conn.exec_driver_sql(
        f"SELECT level, cell, {', '.join(_COLUMNS)} FROM metric_pyramid WHERE series_id = {ph} AND ({where}) "
        "ORDER BY level, cell",
        (series_id, *(x for r in ranges for x in r)),
    ).all()
    by_level: dict[int, list[Any]] = {level: [] for level, _lo, _hi in ranges}
    for row in rows:
        by_level[int(row[0])].append(row[1:])
    return {level: _cells(part, len(_COLUMNS) + 1) for level, part in by_level.items()}


def _sql_column(col: IntArray | FloatArray, is_int: bool) -> list[Any]:
    """A column as SQL parameters: an absent step or a NaN becomes NULL."""
    out = col.astype(object)
    out[col == _ABSENT if is_int else np.isnan(col)] = None
    return out.tolist()  # type: ignore[no-any-return]


def _upsert(conn: Connection, series_id: int, levels: list[Cells]) -> None:
    """Write every level's cells (``levels[k]``: level ``k``), replacing the stored ones in one statement.
    A cell never disappears (a written step stays), so nothing is deleted."""
    rows: list[tuple[Any, ...]] = []
    for level, cells in enumerate(levels):
        columns = [_sql_column(getattr(cells, name), name in _INT_COLUMNS) for name in _COLUMNS]
        n = len(cells)
        rows.extend(zip([series_id] * n, [level] * n, cells.key.tolist(), *columns, strict=True))
    if not rows:
        return
    conn.exec_driver_sql(
        f"INSERT INTO metric_pyramid (series_id, level, cell, {', '.join(_COLUMNS)}) "
        f"VALUES ({placeholders(conn, len(_COLUMNS) + 3)}) ON CONFLICT (series_id, level, cell) DO UPDATE SET "
        + ", ".join(f"{name} = excluded.{name}" for name in _COLUMNS),
        rows,
    )


def rebuild(conn: Connection, *, series_id: int, base: int, lo: int, hi: int, points: Points) -> None:
    """Recompute every level's cells that overlap steps [lo, hi]; ``points`` are the series' merged raw
    points over at least the level-0 cells covering [lo, hi]. Level 0 comes from the points, each level
    above from its children: the recomputed ones and, read in one statement, their stored siblings."""
    w = width(base, 0)
    c_lo, c_hi = lo // w, hi // w
    inside = points.slice_steps(c_lo * w, (c_hi + 1) * w - 1)
    levels = [combine(singletons(inside), inside.steps // w)]
    ranges = [(c_lo, c_hi)]
    for _level in range(1, LEVELS):
        c_lo, c_hi = c_lo // FANOUT, c_hi // FANOUT
        ranges.append((c_lo, c_hi))
    stored = _read_levels(
        conn, series_id, [(k - 1, ranges[k][0] * FANOUT, (ranges[k][1] + 1) * FANOUT - 1) for k in range(1, LEVELS)]
    )
    for level in range(1, LEVELS):
        below, (b_lo, b_hi) = stored[level - 1], ranges[level - 1]
        keep = (below.key < b_lo) | (below.key > b_hi)
        children = Cells.concat([below.take(np.flatnonzero(keep)), levels[level - 1]])
        children = children.take(np.argsort(children.key, kind="stable"))
        levels.append(combine(children, children.key // FANOUT))
    _upsert(conn, series_id, levels)


def cell_range(base: int, lo: int, hi: int) -> tuple[int, int]:
    """The steps of the level-0 cells covering [lo, hi] (what ``rebuild`` needs loaded)."""
    w = width(base, 0)
    return (lo // w) * w, (hi // w + 1) * w - 1


# --- queries -----------------------------------------------------------------------------------------


@dataclass
class View:
    points: Points
    count: int


def view(
    conn: Connection,
    *,
    series_id: int,
    base: int,
    lo: int,
    hi: int,
    max_points: int,
    upto: int,
    load_raw: Callable[[int, int], Points],
) -> View | None:
    """The downsampled view of [lo, hi] from the pyramid, or ``None`` when the range is too narrow for
    any level (the caller then downsamples the raw points: a zoomed view is exact). The pyramid covers
    the steps up to ``upto``; the points after it (the open tail) are read raw."""
    buckets = max(1, (max_points - 1) // 4)  # up to 4 points per bucket, and the range's first point
    span = hi - lo + 1
    want = math.ceil(span / buckets)  # the bucket width the raw downsampler would use
    level = -1
    while level + 1 < LEVELS and 2 * width(base, level + 1) <= want:
        level += 1
    if level < 0:
        return None
    w = width(base, level)
    bucket = math.ceil(want / w) * w
    while hi // bucket - lo // bucket + 1 > buckets:
        bucket += w
    c_first, c_last = -(-lo // w), min(hi + 1, upto + 1) // w - 1
    parts: list[Cells] = []
    if c_first > c_last:
        parts.append(singletons(load_raw(lo, hi)))
    else:
        if lo < c_first * w:
            parts.append(singletons(load_raw(lo, c_first * w - 1)))
        cells = _read(conn, series_id, level, c_first, c_last)
        cells.key = cells.key * w
        parts.append(cells)
        if (c_last + 1) * w <= hi:
            parts.append(singletons(load_raw((c_last + 1) * w, hi)))
    allc = Cells.concat(parts)
    if not len(allc):
        return View(Points.empty(), 0)
    per = combine(allc, allc.key // bucket)
    steps = np.concatenate([per.first_step[:1], per.min_step, per.max_step, per.last_step, per.nan_step])
    values = np.concatenate(
        [per.first_value[:1], per.min_value, per.max_value, per.last_value, np.full(len(per), np.nan)]
    )
    times = np.concatenate([per.first_time[:1], per.min_time, per.max_time, per.last_time, per.nan_time])
    keep = steps != _ABSENT
    steps, values, times = steps[keep], values[keep], times[keep]
    uniq, first = np.unique(steps, return_index=True)
    return View(Points(uniq, values[first], times[first]), int(per.n.sum()))
