"""Merging small sealed segments never changes a read: after any mix of small appends and rewrites of earlier
steps (small, or big enough to stay unmerged between the parts of a group), and of ends of the run (its leftover
small segments and open tail merged, writes arriving after it), every step reads the value of its last write."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, create_engine, insert

from trainboard.server.store import compaction, metrics
from trainboard.server.store.tables import metadata, runs


@pytest.fixture(scope="module")
def conn() -> Iterator[Connection]:
    engine = create_engine("sqlite://")
    metadata.create_all(engine)
    with engine.connect() as c:
        c.execute(insert(runs).values(id="r", name="r", status="running", start_time=0.0, created_at=0.0))
        yield c


_keys = itertools.count()


def write(conn: Connection, key: str, steps: range, tag: int, model: dict[int, float]) -> None:
    s = np.array(steps, "<i8")
    values = tag * 1e6 + s.astype("<f8")
    metrics.write_columns(conn, run_id="r", pieces={key: [(s, values, s.astype("<f8") + 1.7e9)]}, keys=[key])
    model.update(zip(s.tolist(), values.tolist(), strict=True))


def check(conn: Connection, key: str, model: dict[int, float]) -> list[int]:
    """Asserts every step reads its last write; returns the segment sizes in write order."""
    sid = metrics.list_keys(conn, run_id="r")[key]
    points = metrics.load(conn, series_id=sid)
    assert points.steps.tolist() == sorted(model)
    assert points.values.tolist() == [model[s] for s in sorted(model)]
    sizes = conn.exec_driver_sql(f"SELECT n FROM metric_segments WHERE series_id = {sid} ORDER BY id").all()
    return [int(n) for (n,) in sizes]


@contextlib.contextmanager
def small_thresholds() -> Iterator[None]:
    """Tails sealed at 4 to 16 points, segments under 16 merged into 32+: many merges in a short example."""
    saved = metrics.SEAL_POINTS, compaction.SMALL_POINTS, compaction.COMPACT_POINTS
    metrics.SEAL_POINTS, compaction.SMALL_POINTS, compaction.COMPACT_POINTS = 4, 16, 32
    try:
        yield
    finally:
        metrics.SEAL_POINTS, compaction.SMALL_POINTS, compaction.COMPACT_POINTS = saved


# mostly appends of 1..6 steps after the last one; a rewrite of [start, start + n) (up to 40: some stay unmerged)
appends = st.tuples(st.just("append"), st.integers(0, 0), st.integers(1, 6))
rewrites = st.tuples(st.just("rewrite"), st.integers(0, 150), st.integers(1, 40))
ops = st.one_of(appends, appends, appends, rewrites, st.tuples(st.just("end"), st.just(0), st.just(0)))


@settings(max_examples=80, deadline=None)
@given(st.lists(ops, min_size=10, max_size=80))
def test_every_step_reads_its_last_write(conn: Connection, writes: list[tuple[str, int, int]]) -> None:
    key = f"k{next(_keys)}"
    model: dict[int, float] = {}
    with small_thresholds():
        for tag, (kind, start, n) in enumerate(writes):
            if kind == "end":  # the run ended (this key's series only: the run holds every example's keys)
                if model:
                    metrics.settle(conn, run_id="r", after=metrics.list_keys(conn, run_id="r")[key] - 1, limit=1)
                continue
            first = max(model, default=-1) + 1 if kind == "append" else start
            write(conn, key, range(first, first + n), tag, model)
        check(conn, key, model)


def test_a_rewrite_between_small_segments_keeps_them_apart_and_later_ones_merge(conn: Connection) -> None:
    key = f"k{next(_keys)}"
    model: dict[int, float] = {}
    tag = itertools.count()
    for a in range(0, 3_000, 10):
        write(conn, key, range(a, a + 10), next(tag), model)
    write(conn, key, range(2_000, 3_500), next(tag), model)  # 1,500 points: not small, overlaps the small ones
    for a in range(3_500, 12_000, 10):
        write(conn, key, range(a, a + 10), next(tag), model)
    sizes = check(conn, key, model)
    assert 1_500 in sizes and max(sizes) >= compaction.COMPACT_POINTS
    assert sum(sizes) == 3_000 + 1_500 + 8_500  # the steps before the rewrite were not merged across it


def test_the_end_of_a_run_merges_its_small_segments_and_tail_once(conn: Connection) -> None:
    key = f"k{next(_keys)}"
    model: dict[int, float] = {}
    for tag, a in enumerate(range(0, 1_500, 10)):
        write(conn, key, range(a, a + 10), tag, model)
    assert len(check(conn, key, model)) > 4
    sid = metrics.list_keys(conn, run_id="r")[key]
    metrics.settle(conn, run_id="r", after=sid - 1, limit=1)
    assert check(conn, key, model) == [1_500]
    metrics.settle(conn, run_id="r", after=sid - 1, limit=1)
    assert check(conn, key, model) == [1_500]  # idempotent
    write(conn, key, range(1_500, 1_510), 999, model)  # a late batch: a segment of its own, then the tail
    write(conn, key, range(1_510, 1_520), 1_000, model)
    assert check(conn, key, model) == [1_500, 20]
