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
from typing import Any

import httpx
import numpy as np

from trainboard.server.store import pyramid

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
