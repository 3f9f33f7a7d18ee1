"""Metric points: ingest with sequence dedupe, history with spike-preserving downsampling, latest.

Semantics (also in the OpenAPI description and README):
- A point is (step, value, wall time) of one key. Every point is kept; there is no aggregation on write.
- A repeated step for a key replaces the earlier value (last write wins). This is what a resumed run
  needs: it re-logs the steps after its last checkpoint, and the history then reads as one run.
  A decreasing step is accepted and lands at its step.
- A point without a step gets the run's last logged step + 1 (0 for the first).
- Points carrying a ``seq`` from a client stream are ignored when that stream already committed a seq
  at least as high, so a re-sent batch never duplicates.
- NaN is stored as NULL; +/-Infinity as themselves.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from trainboard.server.store.sql import placeholder, placeholders
from trainboard.wire import encode_float

#: Keys of system samples (stepped by epoch milliseconds, not by training step).
SYSTEM_PREFIX = "sys/"

#: A parsed point: (seq or None, step or None, wall time, {key: value}).
Point = tuple[int | None, int | None, float, dict[str, float]]


@dataclass
class IngestResult:
    accepted: int = 0  # points written
    duplicates: int = 0  # points ignored because their seq was already committed
    last_step: int | None = None
    #: (step, {key: value}) per accepted step, in order, for live fan-out.
    updates: list[tuple[int, dict[str, float]]] = field(default_factory=list)


def _series_ids(conn: Connection, cache: dict[str, Any], run_id: str, keys: set[str]) -> dict[str, int]:
    ids: dict[tuple[str, str], int] = cache.setdefault("series", {})
    missing = [k for k in keys if (run_id, k) not in ids]
    if missing:
        ph = placeholder(conn)
        conn.exec_driver_sql(
            f"INSERT INTO series (run_id, key) VALUES ({ph}, {ph}) ON CONFLICT (run_id, key) DO NOTHING",
            [(run_id, k) for k in missing],
        )
        for start in range(0, len(missing), 500):
            part = missing[start : start + 500]
            rows = conn.exec_driver_sql(
                f"SELECT key, id FROM series WHERE run_id = {ph} AND key IN ({placeholders(conn, len(part))})",
                (run_id, *part),
            )
            for key, sid in rows:
                ids[(run_id, key)] = sid
    return {k: ids[(run_id, k)] for k in keys}


def ingest(
    conn: Connection,
    *,
    run_id: str,
    stream: str | None,
    points: list[Point],
    cache: dict[str, Any],
    want_updates: bool = False,
) -> IngestResult | None:
    """Write points of one run in one transaction. Returns ``None`` for an unknown run."""
    ph = placeholder(conn)
    row = conn.exec_driver_sql(f"SELECT last_step FROM runs WHERE id = {ph}", (run_id,)).first()
    if row is None:
        return None
    last_step: int | None = row[0]
    result = IngestResult()
    max_seq = None
    if stream is not None:
        cur = conn.exec_driver_sql(
            f"SELECT max_seq FROM ingest_cursors WHERE run_id = {ph} AND stream = {ph}", (run_id, stream)
        ).first()
        max_seq = cur[0] if cur else -1
    keys: set[str] = set()
    kept: list[tuple[int, float, dict[str, float]]] = []
    new_max = max_seq
    for seq, step, wall, values in points:
        if max_seq is not None and seq is not None:
            if seq <= max_seq:
                result.duplicates += len(values)
                continue
            if new_max is None or seq > new_max:
                new_max = seq
        if step is None:
            step = 0 if last_step is None else last_step + 1
        if not all(k.startswith(SYSTEM_PREFIX) for k in values):
            last_step = step  # system samples are stepped by wall-clock ms: not the training step
        kept.append((step, wall, values))
        keys.update(values)
    if kept:
        ids = _series_ids(conn, cache, run_id, keys)
        rows: dict[tuple[int, int], tuple[int, int, float | None, float]] = {}
        for step, wall, values in kept:
            for key, value in values.items():
                sid = ids[key]
                rows[(sid, step)] = (sid, step, None if value != value else value, wall)
        conn.exec_driver_sql(
            f"INSERT INTO metric_points (series_id, step, value, wall_time) VALUES ({placeholders(conn, 4)}) "
            "ON CONFLICT (series_id, step) DO UPDATE SET value = excluded.value, wall_time = excluded.wall_time",
            list(rows.values()),
        )
        result.accepted = sum(len(v) for _s, _w, v in kept)
        conn.exec_driver_sql(
            f"UPDATE runs SET last_step = {ph}, heartbeat_time = {ph} WHERE id = {ph}",
            (last_step, time.time(), run_id),
        )
        if want_updates:
            result.updates = [(step, values) for step, _w, values in kept]
    if stream is not None and new_max is not None and new_max != max_seq:
        conn.exec_driver_sql(
            f"INSERT INTO ingest_cursors (run_id, stream, max_seq) VALUES ({ph}, {ph}, {ph}) "
            "ON CONFLICT (run_id, stream) DO UPDATE SET max_seq = excluded.max_seq",
            (run_id, stream, new_max),
        )
    result.last_step = last_step
    return result


def stream_cursor(conn: Connection, *, run_id: str, stream: str) -> int:
    """Highest committed seq of a client stream (-1 when none)."""
    ph = placeholder(conn)
    row = conn.exec_driver_sql(
        f"SELECT max_seq FROM ingest_cursors WHERE run_id = {ph} AND stream = {ph}", (run_id, stream)
    ).first()
    return int(row[0]) if row else -1


def _wire(value: float | None) -> float | str:
    return "NaN" if value is None else encode_float(value)


def list_keys(conn: Connection, *, run_id: str) -> dict[str, int]:
    ph = placeholder(conn)
    return {
        k: i for k, i in conn.exec_driver_sql(f"SELECT key, id FROM series WHERE run_id = {ph} ORDER BY key", (run_id,))
    }


def latest(conn: Connection, *, run_id: str) -> dict[str, dict[str, Any]]:
    """The point at the highest step of every key."""
    ph = placeholder(conn)
    rows = conn.exec_driver_sql(
        "SELECT s.key, p.step, p.value, p.wall_time FROM series s JOIN metric_points p ON p.series_id = s.id "
        f"WHERE s.run_id = {ph} AND p.step = (SELECT MAX(step) FROM metric_points WHERE series_id = s.id) "
        "ORDER BY s.key",
        (run_id,),
    )
    return {k: {"step": step, "value": _wire(v), "timestamp": t} for k, step, v, t in rows}


def _empty() -> dict[str, Any]:
    return {"count": 0, "step": [], "value": [], "timestamp": [], "downsampled": False}


def history(
    conn: Connection,
    *,
    series_id: int,
    start: int | None,
    end: int | None,
    max_points: int | None,
) -> dict[str, Any]:
    """Points of one series in [start, end]; at most ``max_points`` of them when given.

    Downsampling splits the step range into buckets and keeps, per bucket, the points holding the
    minimum and the maximum value, the last point, and the first NaN: spikes and divergence survive
    any zoom level, and every range is recomputed from the raw points (a zoomed view is exact).
    """
    ph = placeholder(conn)
    lo = 0 if start is None else start
    hi = (2**63 - 1) if end is None else end
    bounds = conn.exec_driver_sql(
        f"SELECT COUNT(*), MIN(step), MAX(step) FROM metric_points WHERE series_id = {ph} "
        f"AND step >= {ph} AND step <= {ph}",
        (series_id, lo, hi),
    ).first()
    count, first, last = bounds if bounds else (0, None, None)
    if not count:
        return _empty()
    if max_points is None or count <= max_points:
        rows = conn.exec_driver_sql(
            f"SELECT step, value, wall_time FROM metric_points WHERE series_id = {ph} AND step >= {ph} "
            f"AND step <= {ph} ORDER BY step",
            (series_id, lo, hi),
        ).all()
        downsampled = False
    else:
        rows = _downsample(conn, series_id=series_id, first=first, last=last, max_points=max_points)
        downsampled = True
    return {
        "count": count,
        "step": [r[0] for r in rows],
        "value": [_wire(r[1]) for r in rows],
        "timestamp": [r[2] for r in rows],
        "downsampled": downsampled,
    }


def _downsample(conn: Connection, *, series_id: int, first: int, last: int, max_points: int) -> list[Any]:
    buckets = max(1, max_points // 4)  # up to 4 points per bucket: min, max, last, first NaN
    width = max(1, math.ceil((last - first + 1) / buckets))
    ph = placeholder(conn)
    if conn.dialect.name == "sqlite":
        return _downsample_sqlite(conn, series_id, first, last, width)
    sql = f"""
        SELECT step, value, wall_time FROM (
          SELECT step, value, wall_time,
            row_number() OVER (PARTITION BY b ORDER BY value ASC NULLS LAST, step) AS rmin,
            row_number() OVER (PARTITION BY b ORDER BY value DESC NULLS LAST, step) AS rmax,
            row_number() OVER (PARTITION BY b ORDER BY step DESC) AS rlast,
            row_number() OVER (PARTITION BY b, (value IS NULL) ORDER BY step) AS rnan
          FROM (SELECT step, value, wall_time, (step - {ph}) / {ph} AS b FROM metric_points
                WHERE series_id = {ph} AND step >= {ph} AND step <= {ph}) p
        ) q
        WHERE (rmin = 1 AND value IS NOT NULL) OR (rmax = 1 AND value IS NOT NULL) OR rlast = 1
           OR (rnan = 1 AND value IS NULL)
        ORDER BY step"""
    return conn.exec_driver_sql(sql, (first, width, series_id, first, last)).all()


def _downsample_sqlite(conn: Connection, series_id: int, first: int, last: int, width: int) -> list[Any]:
    # SQLite's "bare column" rule: with a single MIN() or MAX() aggregate, the other columns come from
    # the row holding that minimum/maximum. Two grouped scans give the min and max rows per bucket.
    base = "FROM metric_points WHERE series_id = ? AND step >= ? AND step <= ? AND value IS NOT NULL"
    args = (first, width, series_id, first, last)
    picked: dict[int, Any] = {}
    for agg in ("MIN", "MAX"):
        for row in conn.exec_driver_sql(
            f"SELECT step, {agg}(value), wall_time, (step - ?) / ? AS b {base} GROUP BY b", args
        ):
            picked[row[0]] = (row[0], row[1], row[2])
    for row in conn.exec_driver_sql(
        "SELECT MAX(step), value, wall_time, (step - ?) / ? AS b FROM metric_points "
        "WHERE series_id = ? AND step >= ? AND step <= ? GROUP BY b",
        args,
    ):
        picked[row[0]] = (row[0], row[1], row[2])
    for row in conn.exec_driver_sql(
        "SELECT MIN(step), value, wall_time, (step - ?) / ? AS b FROM metric_points "
        "WHERE series_id = ? AND step >= ? AND step <= ? AND value IS NULL GROUP BY b",
        args,
    ):
        picked[row[0]] = (row[0], row[1], row[2])
    return [picked[s] for s in sorted(picked)]
