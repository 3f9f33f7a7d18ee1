"""A long metric key through the real HTTP API, on SQLite and PostgreSQL: past ``pyramid.MIN_POINTS`` the
full-range view comes from the pyramid and stays honest (true count, spikes, dips, NaN, the range's ends,
only stored points), a zoomed view is exact, a resume that rewrites steps is reflected, and the values come
back bit-exact through the compressed segments. Terminal bytes stored compressed read back exactly at any
offset."""

from __future__ import annotations

import base64
import json
import math
import random
from collections.abc import Callable
from typing import Any

import httpx
import numpy as np
from alembic import command
from sqlalchemy import insert
from tests.support.servers import ServerProcess

from trainboard.server.settings import Settings
from trainboard.server.store import pyramid
from trainboard.server.store.engine import alembic_config, make_engines
from trainboard.server.store.tables import log_chunks, metric_segments, runs

N = 120_000  # past pyramid.MIN_POINTS: the series gets its pyramid while the batches arrive
T0 = 1.7e9


def post_block(http: httpx.Client, run: str, steps: np.ndarray, values: np.ndarray, seq0: int) -> None:
    def b64(a: np.ndarray, dtype: str) -> str:
        return base64.b64encode(np.ascontiguousarray(a, dtype).tobytes()).decode()

    block = {
        "keys": ["loss"],
        "seq0": seq0,
        "steps": b64(steps, "<i8"),
        "timestamps": b64(T0 + steps * 0.25, "<f8"),
        "values": b64(values, "<f8"),
    }
    reply = http.post(
        f"/api/runs/{run}/metrics",
        content=json.dumps({"stream": "s", "blocks": [block]}),
        headers={"content-type": "application/json"},
    )
    assert reply.status_code == 200, reply.text
    assert reply.json()["accepted"] == len(steps)


def history(http: httpx.Client, run: str, **params: Any) -> dict[str, Any]:
    reply = http.get(f"/api/runs/{run}/metrics", params={"keys": "loss", **params})
    assert reply.status_code == 200, reply.text
    series: dict[str, Any] = reply.json()["metrics"]["loss"]
    return series


def as_float(v: float | str) -> float:
    return {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}[v] if isinstance(v, str) else float(v)


def same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


def test_a_long_key_is_honest_at_every_zoom(http: httpx.Client) -> None:
    assert N > pyramid.MIN_POINTS
    http.post("/api/runs", json={"id": "long"})
    steps = np.arange(N, dtype=np.int64) * 3  # logged every 3 steps
    x = np.arange(N)
    values = (np.exp(-x / 40_000) + 0.01 * np.sin(x / 300)).astype(np.float32).astype(np.float64)
    values[9_999] = 40.0  # a spike
    values[77_777] = -5.0  # a dip
    values[100_001] = math.nan  # divergence
    values[100_002] = math.inf
    for a in range(0, N, 15_000):
        post_block(http, "long", steps[a : a + 15_000], values[a : a + 15_000], seq0=a)

    # 50 buckets of 7,200 steps: answered from the pyramid's level-0 cells (2,048 steps: 512 x the spacing)
    full = history(http, "long", max_points=200)
    assert full["count"] == N and full["downsampled"]
    assert 50 <= len(full["step"]) <= 200
    shown = {s: as_float(v) for s, v in zip(full["step"], full["value"], strict=True)}
    assert shown[3 * 9_999] == 40.0 and shown[3 * 77_777] == -5.0
    assert math.isnan(shown[3 * 100_001]) and shown[3 * 100_002] == math.inf
    assert full["step"][0] == 0 and full["step"][-1] == 3 * (N - 1)
    stored = dict(zip(steps.tolist(), values.tolist(), strict=True))
    assert all(same(stored[s], v) for s, v in shown.items())  # only stored points, at their values

    # a sub-range that is still coarse: the true count, its ends
    part = history(http, "long", start=30_001, end=299_999, max_points=100)
    assert part["count"] == (299_997 - 30_003) // 3 + 1
    assert part["step"][0] == 30_003 and part["step"][-1] == 299_997 and len(part["step"]) <= 100
    # the same range from the raw points (too fine for the pyramid): the same guarantees
    fine = history(http, "long", start=30_001, end=299_999, max_points=2000)
    assert fine["count"] == part["count"] and 40.0 not in fine["value"] and len(fine["step"]) <= 2000

    # a zoom: every stored point, bit-exact (JSON floats round-trip float64)
    zoom = history(http, "long", start=29_000, end=31_000, max_points=2000)
    assert not zoom["downsampled"] and zoom["step"] == list(range(29_001, 31_000, 3))
    assert [as_float(v) for v in zoom["value"]] == [stored[s] for s in zoom["step"]]
    assert zoom["timestamp"] == [T0 + s * 0.25 for s in zoom["step"]]

    # a resume re-logs steps: the old spike is replaced, a new one shows, the count stays
    again = np.arange(9_000, 11_000, dtype=np.int64) * 3
    redo = np.full(len(again), 0.5)
    redo[1_500] = -77.0
    post_block(http, "long", again, redo, seq0=N)
    after = history(http, "long", max_points=200)
    shown = {s: as_float(v) for s, v in zip(after["step"], after["value"], strict=True)}
    assert after["count"] == N
    assert 40.0 not in shown.values() and shown[3 * 10_500] == -77.0


def test_compressed_terminal_bytes_read_back_exactly_at_any_offset(http: httpx.Client) -> None:
    http.post("/api/runs", json={"id": "term"})
    rng = random.Random(7)
    pieces = [
        b"".join(f"\r{i:>3}%|{'#' * (i // 10):<10}| {i}/100 [00:0{i % 10}<00:00]".encode() for i in range(101)),
        bytes(rng.getrandbits(8) for _ in range(5_000)),  # incompressible: stored as written
        b"short\n",
        ("\u00e9t\u00e9 \U0001f600 " * 400).encode(),
    ]
    chunks = [
        {"source": "stdout" if i % 2 else "stderr", "data": base64.b64encode(p).decode()} for i, p in enumerate(pieces)
    ]
    whole = b"".join(pieces)
    assert http.post("/api/runs/term/logs/raw", json={"chunks": chunks}).json()["size"] == len(whole)
    assert http.get("/api/runs/term/logs").content == whole
    for _ in range(20):
        offset = rng.randrange(len(whole))
        limit = rng.randrange(1, 9_000)
        got = http.get("/api/runs/term/logs", params={"offset": offset, "limit": limit})
        assert got.content == whole[offset : offset + limit]
        assert int(got.headers["X-Log-Size"]) == len(whole)
    stderr = b"".join(p for i, p in enumerate(pieces) if i % 2 == 0)
    assert http.get("/api/runs/term/logs", params={"source": "stderr"}).content == stderr


def test_data_written_before_0008_is_read_converted_and_downgraded(
    make_server: Callable[..., ServerProcess], db_url: str | None
) -> None:
    """Raw segments and log chunks of an older version: served after the upgrade (a pyramid built for the
    long key), extended with compressed writes, and raw again after a downgrade to 0007."""
    server = make_server(start=False)
    engines = make_engines(Settings(data_dir=server.data_dir, db_url=db_url))
    cfg = alembic_config()
    n = pyramid.MIN_POINTS + 10_000
    steps = np.arange(n, dtype="<i8")
    values = np.sin(steps / 1000.0)
    values[n // 2] = math.nan
    times = T0 + steps.astype("<f8")
    log = b"epoch 1 loss 0.5\n" * 100
    with engines.writer.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0007")
        conn.execute(insert(runs).values(id="old", name="old", status="completed", start_time=T0, created_at=T0))
        conn.exec_driver_sql(f"UPDATE runs SET log_size = {len(log)} WHERE id = 'old'")
        conn.exec_driver_sql(f"INSERT INTO series (run_id, key, max_step) VALUES ('old', 'loss', {n - 1})")
        sid = conn.exec_driver_sql("SELECT id FROM series").scalar_one()
        for a in range(0, n, 30_000):
            sl = slice(a, a + 30_000)
            conn.execute(
                insert(metric_segments).values(
                    series_id=sid,
                    first_step=int(steps[sl][0]),
                    last_step=int(steps[sl][-1]),
                    n=len(steps[sl]),
                    steps=steps[sl].tobytes(),
                    vals=values[sl].tobytes(),
                    times=times[sl].tobytes(),
                )
            )
        conn.execute(insert(log_chunks).values(run_id="old", offset=0, source="stdout", time=T0, data=log))
    engines.dispose()

    server.start(timeout=120)  # migrates to head, building the long key's pyramid
    with server.client() as http:
        coarse = history(http, "old", max_points=40)
        shown = dict(zip(coarse["step"], coarse["value"], strict=True))
        assert coarse["count"] == n and math.isnan(as_float(shown[n // 2])) and len(shown) <= 40
        zoom = history(http, "old", start=100, end=199)
        assert [as_float(v) for v in zoom["value"]] == values[100:200].tolist()
        assert http.get("/api/runs/old/logs", params={"offset": 17, "limit": 17}).content == log[17:34]
        post_block(http, "old", np.arange(n, n + 500, dtype=np.int64), np.full(500, 2.0), seq0=0)
        assert history(http, "old", max_points=40)["count"] == n + 500
    server.stop()

    engines = make_engines(Settings(data_dir=server.data_dir, db_url=db_url))
    with engines.writer.begin() as conn:
        assert conn.exec_driver_sql("SELECT pyramid_base FROM series").scalar_one() is not None
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM metric_segments WHERE codec = 1").scalar_one() > 0
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0007")
        rows = conn.exec_driver_sql("SELECT steps, vals FROM metric_segments ORDER BY id").all()
        got_steps = np.concatenate([np.frombuffer(bytes(r[0]), "<i8") for r in rows])
        got_values = np.concatenate([np.frombuffer(bytes(r[1]), "<f8") for r in rows])
        assert got_steps.tolist() == list(range(n + 500))
        assert got_values[:n].view("<u8").tolist() == values.view("<u8").tolist() and set(got_values[n:]) == {2.0}
        assert bytes(conn.exec_driver_sql("SELECT data FROM log_chunks").scalar_one()) == log
    engines.dispose()
