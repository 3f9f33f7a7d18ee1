"""The min/max/last pyramid answers coarse views honestly and stays equal to a rebuild after any writes."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, create_engine, insert

from trainboard.server.store import metrics, pyramid
from trainboard.server.store.tables import metadata, runs


@pytest.fixture(scope="module")
def conn() -> Iterator[Connection]:
    engine = create_engine("sqlite://")
    metadata.create_all(engine)
    with engine.connect() as c:
        c.execute(insert(runs).values(id="r", name="r", status="running", start_time=0.0, created_at=0.0))
        yield c


def write(conn: Connection, key: str, steps: list[int], values: list[float]) -> None:
    s = np.array(steps, "<i8")
    piece = (s, np.array(values, "<f8"), s.astype("<f8") + 1.7e9)
    metrics.write_columns(conn, run_id="r", pieces={key: [piece]}, keys=[key])


def pyramid_rows(conn: Connection, key: str) -> list[tuple[object, ...]]:
    sid = metrics.list_keys(conn, run_id="r")[key]
    rows = conn.exec_driver_sql(f"SELECT * FROM metric_pyramid WHERE series_id = {sid} ORDER BY level, cell").all()
    return [tuple(r) for r in rows]


_keys = itertools.count()
values = st.one_of(st.floats(-1e6, 1e6), st.just(float("nan")), st.just(float("inf")), st.just(-float("inf")))


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3000), st.lists(values, min_size=1, max_size=400)), max_size=6))
def test_incremental_maintenance_equals_a_rebuild(conn: Connection, batches: list[tuple[int, list[float]]]) -> None:
    """Appends, overwrites of old steps and out-of-order batches: the cells are what a rebuild gives."""
    if not batches:
        return
    key = f"k{next(_keys)}"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pyramid, "MIN_POINTS", 1)
        mp.setattr(pyramid, "CELL_POINTS", 8)
        for start, vals in batches:
            write(conn, key, [start + 3 * i for i in range(len(vals))], vals)
        sid = metrics.list_keys(conn, run_id="r")[key]
        base, upto = metrics._pyramid_state(conn, sid)
        top = max(start + 3 * (len(vals) - 1) for start, vals in batches)
        assert base is not None and upto is not None
        if upto < top:  # the open tail, not folded in yet: fold it in as its sealing would
            lo, hi = pyramid.cell_range(base, upto + 1, top)
            points = metrics.load(conn, series_id=sid, start=lo, end=hi)
            pyramid.rebuild(conn, series_id=sid, base=base, lo=upto + 1, hi=top, points=points)
        incremental = pyramid_rows(conn, key)
        metrics.build_pyramid(conn, series_id=sid)
        assert pyramid_rows(conn, key) == incremental
        assert incremental  # the pyramid exists


def test_a_coarse_view_keeps_spikes_nan_and_the_true_count(conn: Connection, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pyramid, "MIN_POINTS", 1000)
    n = 200_000
    steps = np.arange(n) * 2
    vals = np.exp(-np.arange(n) / 50_000.0)
    vals[123_457] = 50.0  # a spike
    vals[7_001] = -3.0  # a dip
    vals[150_001] = np.nan  # divergence
    for a in range(0, n, 20_000):
        write(conn, "loss", steps[a : a + 20_000].tolist(), vals[a : a + 20_000].tolist())
    sid = metrics.list_keys(conn, run_id="r")["loss"]
    base, upto = metrics._pyramid_state(conn, sid)
    assert upto == 2 * (n - 1)
    assert base == pyramid.CELL_POINTS * 2  # 512 points at a spacing of 2
    coarse = pyramid.view(
        conn,
        series_id=sid,
        base=base,
        lo=1001,
        hi=399_001,
        max_points=200,
        upto=upto,
        load_raw=lambda a, b: metrics.load(conn, series_id=sid, start=a, end=b),
    )
    assert coarse is not None  # 50 buckets of ~8,000 steps: from the level-0 cells
    view = metrics.history(conn, series_id=sid, start=1001, end=399_001, max_points=200)
    raw = metrics.load(conn, series_id=sid, start=1001, end=399_001)
    assert view["count"] == len(raw) == 199_000
    assert 50 <= len(view["step"]) <= 200 and view["downsampled"]
    assert view["step"] == coarse.points.steps.tolist() and view["count"] == coarse.count
    shown = dict(zip(view["step"], view["value"], strict=True))
    assert shown[2 * 123_457] == 50.0 and shown[2 * 7_001] == -3.0 and shown[2 * 150_001] == "NaN"
    assert view["step"][0] == 1002 and view["step"][-1] == 399_000  # the range's first and last points
    by_step = dict(zip(raw.steps.tolist(), raw.values.tolist(), strict=True))
    for step, value in shown.items():  # every point shown is a stored point
        assert value == "NaN" or by_step[step] == value
    zoom = metrics.history(conn, series_id=sid, start=240_000, end=240_999, max_points=2000)
    assert zoom["step"] == list(range(240_000, 241_000, 2)) and not zoom["downsampled"]  # exact


def test_small_appends_wait_in_the_open_tail_and_still_show(conn: Connection, monkeypatch: pytest.MonkeyPatch) -> None:
    """Appends of a few points cost no pyramid work until the tail seals; a view shows them meanwhile."""
    monkeypatch.setattr(pyramid, "MIN_POINTS", 1000)
    n = 60_000
    write(conn, "acc", list(range(n)), np.linspace(0, 1, n).tolist())
    sid = metrics.list_keys(conn, run_id="r")["acc"]
    assert metrics._pyramid_state(conn, sid)[1] == n - 1
    for k in range(10):  # 100 points, one spike and one NaN among them: the tail stays open
        vals = [0.5] * 10
        if k == 7:
            vals[3], vals[4] = 99.0, float("nan")
        write(conn, "acc", list(range(n + 10 * k, n + 10 * k + 10)), vals)
    assert metrics._pyramid_state(conn, sid)[1] == n - 1  # not folded in yet
    view = metrics.history(conn, series_id=sid, start=None, end=None, max_points=100)
    shown = dict(zip(view["step"], view["value"], strict=True))
    assert view["count"] == n + 100 and view["step"][-1] == n + 99
    assert shown[n + 73] == 99.0 and shown[n + 74] == "NaN"
    write(conn, "acc", list(range(n + 100, n + 400)), [0.25] * 300)  # seals the tail: folded in
    assert metrics._pyramid_state(conn, sid)[1] == n + 399
    view = metrics.history(conn, series_id=sid, start=None, end=None, max_points=100)
    assert view["count"] == n + 400 and 99.0 in view["value"] and "NaN" in view["value"]
