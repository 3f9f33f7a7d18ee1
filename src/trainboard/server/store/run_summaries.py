"""Per run and metric key: last value, minimum, maximum and point count, kept current by the metric write
path so the runs table filters and sorts on them without reading a single segment.

An appending batch (every step above the key's highest stored step, steps increasing) updates the row with
one upsert (min/max folded in SQL); a batch that rewrites earlier steps (a resumed run re-logging, last write
wins) makes the key's summary be recomputed from its stored points, as rewriting may remove an extreme.
NaN is left out of min and max; a NaN last value is stored as NULL (a diverged run sorts with the runs
missing the key, and no comparison matches it).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Connection, delete

from trainboard.server.store.segments import FloatArray, IntArray, Points
from trainboard.server.store.sql import placeholders
from trainboard.server.store.tables import run_metric_summaries

_COLUMNS = "run_id, key, last_step, last_val, min_val, max_val, n"
_T = "run_metric_summaries"
_FOLD = (
    f"ON CONFLICT (run_id, key) DO UPDATE SET last_step = excluded.last_step, last_val = excluded.last_val, "
    f"min_val = CASE WHEN {_T}.min_val IS NULL OR excluded.min_val < {_T}.min_val "
    f"THEN excluded.min_val ELSE {_T}.min_val END, "
    f"max_val = CASE WHEN {_T}.max_val IS NULL OR excluded.max_val > {_T}.max_val "
    f"THEN excluded.max_val ELSE {_T}.max_val END, "
    f"n = {_T}.n + excluded.n"
)
_REPLACE = (
    "ON CONFLICT (run_id, key) DO UPDATE SET last_step = excluded.last_step, last_val = excluded.last_val, "
    "min_val = excluded.min_val, max_val = excluded.max_val, n = excluded.n"
)


@dataclass
class Written:
    """One key's points as a batch wrote them, and the key's highest step before the batch."""

    key: str
    series_id: int
    prior_max: int | None
    steps: IntArray
    values: FloatArray


def _value(v: float) -> float | None:
    return None if math.isnan(v) else v


def _summary(run_id: str, key: str, steps: IntArray, values: FloatArray) -> tuple[Any, ...]:
    finite = values[~np.isnan(values)]
    low = float(finite.min()) if len(finite) else None
    high = float(finite.max()) if len(finite) else None
    return (run_id, key, int(steps[-1]), _value(float(values[-1])), low, high, len(steps))


def _appends(w: Written) -> bool:
    steps = w.steps
    increasing = len(steps) < 2 or bool(np.all(steps[1:] > steps[:-1]))
    return increasing and (w.prior_max is None or int(steps[0]) > w.prior_max)


def record(conn: Connection, *, run_id: str, written: list[Written], load: Callable[[Connection, int], Points]) -> None:
    """Fold a batch's points into the summaries (in the batch's transaction). ``load(conn, series_id)``
    reads a series' stored points, for the keys whose earlier steps were rewritten."""
    folded: list[tuple[Any, ...]] = []
    replaced: list[tuple[Any, ...]] = []
    for w in written:
        if not len(w.steps):
            continue
        if _appends(w):
            folded.append(_summary(run_id, w.key, w.steps, w.values))
            continue
        points = load(conn, w.series_id)
        if len(points):
            replaced.append(_summary(run_id, w.key, points.steps, points.values))
    insert = f"INSERT INTO {_T} ({_COLUMNS}) VALUES ({placeholders(conn, 7)}) "
    if folded:
        conn.exec_driver_sql(insert + _FOLD, folded)
    if replaced:
        conn.exec_driver_sql(insert + _REPLACE, replaced)


def delete_run(conn: Connection, *, run_id: str) -> int:
    return conn.execute(delete(run_metric_summaries).where(run_metric_summaries.c.run_id == run_id)).rowcount
