"""Groups of runs and their per-step aggregates, computed over every run of the group (issue 25).

Why on the server: a group of 10,000 runs cannot be downloaded run by run into a browser, and a chart of the
newest 120 only is a wrong mean. Here the matching runs are found with the runs query's filter, split into
groups by a config key (or a tag), and one metric key of all of them is read in a few statements.

Aggregation, per group: the step range of all members is cut into at most ``buckets`` buckets of equal
width (``width`` steps, the first starting at the lowest step). A run contributes to a bucket the mean of
its finite values in that bucket, and nothing where it has no point (no extrapolation: a shorter run does
not drag the mean past its end). Across the runs of a bucket: mean, median, min, max, standard deviation
(sample, ``ddof=1``; 0 for one run) and standard error, with ``count`` the runs behind the point, so
differing step ranges show up as a falling count, never as a silently thinner mean. A run whose values in a
bucket are all NaN or infinite is counted in ``nonfinite`` instead.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection, select

from trainboard.server.runs_query.compile import compile_filter, mentions
from trainboard.server.runs_query.parse import parse_filter
from trainboard.server.store import run_tags
from trainboard.server.store.segments import Points, decode, merge_points
from trainboard.server.store.sql import placeholder, placeholders
from trainboard.server.store.tables import run_config, runs, series

#: Rows per ``IN (...)`` list.
_CHUNK = 500
#: Default and largest bucket counts of one aggregate.
DEFAULT_BUCKETS = 200
MAX_BUCKETS = 2000
#: Members listed by name per group (the count is always exact; the UI says when it lists fewer).
MEMBERS_LISTED = 200

FloatArray = npt.NDArray[np.float64]


@dataclass
class Member:
    id: str
    name: str


@dataclass
class Group:
    label: str
    members: list[Member] = field(default_factory=list)
    #: how the groups sort: numbers by value, then text, missing values last
    order: tuple[Any, ...] = ()


def matching_runs(
    conn: Connection, *, filter_text: str = "", project: str | None = None, ids: Sequence[str] = ()
) -> list[Member]:
    """Every run the filter (and project, and ids when given) matches, newest first.

    Archived runs are left out unless the filter names ``archived`` or the runs are named by id.
    Raises :class:`~trainboard.server.runs_query.QueryError` for a bad filter."""
    tree = parse_filter(filter_text)
    conds = [compile_filter(tree, now=time.time())]
    if project:
        conds.append(runs.c.project == project)
    if not ids and not mentions(tree, "archived"):
        conds.append(runs.c.archived.is_(False))
    stmt = select(runs.c.id, runs.c.name).where(*conds).order_by(runs.c.start_time.desc(), runs.c.id)
    if not ids:
        return [Member(i, n) for i, n in conn.execute(stmt)]
    out: list[Member] = []
    wanted = list(dict.fromkeys(ids))
    for start in range(0, len(wanted), _CHUNK):
        out.extend(Member(i, n) for i, n in conn.execute(stmt.where(runs.c.id.in_(wanted[start : start + _CHUNK]))))
    return out


def _config_values(conn: Connection, run_ids: list[str], key: str | None) -> dict[str, dict[str, tuple[Any, str]]]:
    """run id -> flattened config key -> (number or None, text) for ``key`` (None: every key)."""
    out: dict[str, dict[str, tuple[Any, str]]] = {}
    c = run_config.c
    for start in range(0, len(run_ids), _CHUNK):
        stmt = select(c.run_id, c.key, c.num, c.text).where(c.run_id.in_(run_ids[start : start + _CHUNK]))
        if key is not None:
            stmt = stmt.where(c.key == key)
        for run_id, k, num, text in conn.execute(stmt):
            out.setdefault(run_id, {})[k] = (num, text)
    return out


def _sort_part(value: tuple[Any, str] | None) -> tuple[int, float, str]:
    if value is None:
        return (2, 0.0, "")
    num, text = value
    return (0, float(num), "") if num is not None else (1, 0.0, text)


def _shown(value: tuple[Any, str] | None) -> str:
    if value is None:
        return "(none)"
    num, text = value
    if num is not None and text not in ("true", "false"):
        return format(float(num), ".6g") if not float(num).is_integer() else str(int(num))
    return text


def group_runs(conn: Connection, members: list[Member], *, by: str, mode: str = "by") -> list[Group]:
    """``by`` is ``config.<key>`` or ``tag``. Mode ``by``: runs with the same value share a group (a run
    without the key is in ``key=(none)``; with ``tag`` a run is in the group of each of its tags). Mode
    ``over``: the key is what varies inside a group -- runs are grouped by every other config key whose
    value differs between them (the usual "mean over seeds")."""
    ids = [m.id for m in members]
    groups: dict[str, Group] = {}

    def add(label: str, member: Member, order: tuple[Any, ...]) -> None:
        groups.setdefault(label, Group(label, order=order)).members.append(member)

    if by == "tag":
        tags = run_tags.tags_of_runs(conn, run_ids=ids)
        for m in members:
            for t in tags.get(m.id) or ["(untagged)"]:
                add(t, m, ((1 if t == "(untagged)" else 0), t))
    else:
        key = by.removeprefix("config.")
        if mode == "by":
            values = _config_values(conn, ids, key)
            for m in members:
                v = values.get(m.id, {}).get(key)
                add(f"{key}={_shown(v)}", m, (_sort_part(v),))
        else:
            values = _config_values(conn, ids, None)
            varying = sorted(_varying(values, ids) - {key})
            for m in members:
                own = values.get(m.id, {})
                label = " ".join(f"{k}={_shown(own.get(k))}" for k in varying) or "(all)"
                add(label, m, tuple(_sort_part(own.get(k)) for k in varying))
    return sorted(groups.values(), key=lambda g: g.order)


def _varying(values: dict[str, dict[str, tuple[Any, str]]], ids: list[str]) -> set[str]:
    keys: set[str] = set()
    for v in values.values():
        keys.update(v)
    out = set()
    for k in keys:
        seen = {(values.get(i) or {}).get(k, (None, "\x00absent"))[1] for i in ids}
        if len(seen) > 1:
            out.add(k)
    return out


def metric_keys(conn: Connection, run_ids: list[str]) -> list[str]:
    """The metric keys any of the runs logged."""
    keys: set[str] = set()
    for start in range(0, len(run_ids), _CHUNK):
        stmt = select(series.c.key).where(series.c.run_id.in_(run_ids[start : start + _CHUNK])).distinct()
        keys.update(k for (k,) in conn.execute(stmt))
    return sorted(keys)


def load_metric(conn: Connection, run_ids: list[str], key: str) -> dict[str, Points]:
    """run id -> all points of ``key`` (runs without it are left out), a few statements for any number of runs."""
    parts: dict[str, list[Points]] = {}
    for start in range(0, len(run_ids), _CHUNK):
        chunk = run_ids[start : start + _CHUNK]
        mark, ph = placeholder(conn), placeholders(conn, len(chunk))
        rows = conn.exec_driver_sql(
            "SELECT s.run_id, m.steps, m.vals, m.times, m.codec FROM metric_segments m "
            f"JOIN series s ON s.id = m.series_id WHERE s.key = {mark} AND s.run_id IN ({ph}) ORDER BY m.id",
            (key, *chunk),
        )
        for run_id, st, va, ti, codec in rows:
            parts.setdefault(run_id, []).append(decode(bytes(st), bytes(va), bytes(ti), codec))
    return {run_id: merge_points(p) for run_id, p in parts.items()}


@dataclass
class Aggregate:
    """Per bucket (``step`` is the bucket's first step): statistics over the runs with a value there."""

    step: list[int]
    count: list[int]
    nonfinite: list[int]
    mean: list[float | None]
    median: list[float | None]
    min: list[float | None]
    max: list[float | None]
    std: list[float | None]
    sem: list[float | None]


def buckets_of(points: Iterable[Points], buckets: int) -> tuple[int, int, int]:
    """(lowest step, width, bucket count) covering every step of ``points`` in at most ``buckets`` buckets."""
    lows, highs = [], []
    for p in points:
        if len(p.steps):
            lows.append(int(p.steps[0]))
            highs.append(int(p.steps[-1]))
    if not lows:
        return 0, 1, 0
    lo, hi = min(lows), max(highs)
    width = max(1, math.ceil((hi - lo + 1) / buckets))
    return lo, width, (hi - lo) // width + 1


def aggregate(series_of: Sequence[Points], *, lo: int, width: int, n_buckets: int) -> Aggregate:
    """The statistics per bucket over the runs ``series_of`` (see the module's docstring)."""
    per_run = np.full((len(series_of), n_buckets), np.nan)
    bad = np.zeros((len(series_of), n_buckets), dtype=bool)
    for row, p in enumerate(series_of):
        if not len(p.steps):
            continue
        b = (p.steps - lo) // width
        finite = np.isfinite(p.values)
        sums = np.bincount(b[finite], weights=p.values[finite], minlength=n_buckets)
        counts = np.bincount(b[finite], minlength=n_buckets)
        with np.errstate(invalid="ignore", divide="ignore"):
            per_run[row] = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
        bad[row] = (np.bincount(b[~finite], minlength=n_buckets) > 0) & (counts == 0)
    have = np.isfinite(per_run)
    count = have.sum(axis=0)
    filled = count > 0
    out = {name: np.full(n_buckets, np.nan) for name in ("mean", "median", "min", "max", "std")}
    if filled.any():
        cols = per_run[:, filled]
        out["mean"][filled] = np.nanmean(cols, axis=0)
        out["median"][filled] = np.nanmedian(cols, axis=0)
        out["min"][filled] = np.nanmin(cols, axis=0)
        out["max"][filled] = np.nanmax(cols, axis=0)
        several = count[filled] > 1
        std = np.zeros(cols.shape[1])
        if several.any():
            std[several] = np.nanstd(cols[:, several], axis=0, ddof=1)
        out["std"][filled] = std
    with np.errstate(invalid="ignore", divide="ignore"):
        sem = out["std"] / np.sqrt(count)
    keep = filled | (bad.sum(axis=0) > 0)  # buckets where no run has a point are left out

    def listed(a: FloatArray) -> list[float | None]:
        return [None if not math.isfinite(v) else float(v) for v in a[keep].tolist()]

    steps = lo + np.arange(n_buckets, dtype=np.int64) * width
    return Aggregate(
        step=[int(s) for s in steps[keep].tolist()],
        count=[int(c) for c in count[keep].tolist()],
        nonfinite=[int(c) for c in bad.sum(axis=0)[keep].tolist()],
        mean=listed(out["mean"]),
        median=listed(out["median"]),
        min=listed(out["min"]),
        max=listed(out["max"]),
        std=listed(out["std"]),
        sem=listed(sem),
    )
