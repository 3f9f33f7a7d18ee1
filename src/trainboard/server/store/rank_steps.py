"""Step times per rank and stragglers (issue 27).

A rank's step time is the wall time between successive steps of its metric points: of its busiest training
series (most points, system keys aside), over its last ``WINDOW`` steps. A rank whose median step time is at
least ``STRAGGLER_PERCENT`` above the median of all ranks' medians, measured over at least ``MIN_STEPS``
intervals, is a straggler.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

import numpy as np
from sqlalchemy import Connection

from trainboard.server.store import metrics, ranks
from trainboard.server.store.sql import placeholder

WINDOW = 512
MIN_STEPS = 5
STRAGGLER_PERCENT = 20.0


@dataclass(frozen=True)
class StepTimes:
    median: float | None  # seconds per step; None when fewer than MIN_STEPS intervals are known
    intervals: int
    straggler: bool = False
    slower_by_percent: float | None = None


def _busiest_series(conn: Connection, owner: str) -> tuple[int, int] | None:
    """(series id, max step) of the owner's series with the most points, system keys aside."""
    ph = placeholder(conn)
    row = conn.exec_driver_sql(
        f"SELECT id, max_step FROM series WHERE run_id = {ph} AND key NOT LIKE {ph} AND max_step IS NOT NULL "
        "ORDER BY points DESC, key LIMIT 1",
        (owner, metrics.SYSTEM_PREFIX + "%"),
    ).first()
    return None if row is None else (int(row[0]), int(row[1]))


def rank_intervals(conn: Connection, *, run_id: str, rank: int) -> list[float]:
    """Seconds between successive steps of the rank's busiest series (its last ``WINDOW`` steps)."""
    found = _busiest_series(conn, run_id if rank == 0 else ranks.series_owner(run_id, rank))
    if found is None:
        return []
    series_id, max_step = found
    points = metrics.load(conn, series_id=series_id, start=max(0, max_step - WINDOW), end=max_step)
    if len(points) < 2:
        return []
    order = np.argsort(points.steps, kind="stable")
    times = points.times[order]
    return [float(d) for d in np.diff(times) if d >= 0]


def step_times(conn: Connection, *, run_id: str, rank_list: list[int]) -> dict[int, StepTimes]:
    """Each rank's median step time and whether it is a straggler."""
    raw: dict[int, list[float]] = {r: rank_intervals(conn, run_id=run_id, rank=r) for r in rank_list}
    return flag(raw)


def flag(raw: dict[int, list[float]]) -> dict[int, StepTimes]:
    """Medians and straggler flags from each rank's step intervals (pure)."""
    medians = {r: statistics.median(v) for r, v in raw.items() if len(v) >= MIN_STEPS}
    overall = statistics.median(medians.values()) if len(medians) >= 2 else None
    out: dict[int, StepTimes] = {}
    for rank, intervals in raw.items():
        median = medians.get(rank)
        if median is None or overall is None or overall <= 0:
            out[rank] = StepTimes(median, len(intervals))
            continue
        slower = (median / overall - 1.0) * 100.0
        straggler = slower >= STRAGGLER_PERCENT
        out[rank] = StepTimes(median, len(intervals), straggler, round(slower, 1) if straggler else None)
    return out
