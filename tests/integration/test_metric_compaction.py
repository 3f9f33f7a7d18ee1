"""Small batches, as the SDK sends them (ten steps per POST), through the real HTTP API on SQLite and
PostgreSQL: the key's small sealed segments end merged into big ones (``store/compaction.py``), and every
read -- every point, a zoom, a downsampled view -- answers the same before and after the merge: spikes,
NaN and Infinity kept, a re-logged step's later value winning."""

from __future__ import annotations

import base64
import json
import math
import time
from typing import Any

import httpx
import numpy as np
from tests.support.servers import API_HEADERS, ServerProcess

from trainboard.server.settings import Settings
from trainboard.server.store import compaction
from trainboard.server.store.engine import make_engines

T0 = 1.7e9
KEYS = ["loss", "lr"]


def post(http: httpx.Client, steps: np.ndarray, values: np.ndarray, seq0: int, run: str = "small") -> None:
    """One block of len(steps) rows of both keys (the second key is half the first)."""

    def b64(a: np.ndarray, dtype: str) -> str:
        return base64.b64encode(np.ascontiguousarray(a, dtype).tobytes()).decode()

    block = {
        "keys": KEYS,
        "seq0": seq0,
        "steps": b64(steps, "<i8"),
        "timestamps": b64(T0 + steps * 0.1 + (steps % 7) * 1e-3, "<f8"),  # jittered wall times
        "values": b64(np.stack([values, values / 2], axis=1), "<f8"),
    }
    reply = http.post(
        f"/api/runs/{run}/metrics",
        content=json.dumps({"stream": "s", "blocks": [block]}),
        headers={"content-type": "application/json"},
    )
    assert reply.status_code == 200, reply.text
    assert reply.json()["accepted"] == 2 * len(steps)


def post_in_tens(http: httpx.Client, steps: np.ndarray, values: np.ndarray, seq0: int, run: str = "small") -> int:
    for a in range(0, len(steps), 10):
        post(http, steps[a : a + 10], values[a : a + 10], seq0 + a, run)
    return seq0 + len(steps)


def reads(http: httpx.Client, run: str = "small") -> list[dict[str, Any]]:
    """The views of steps 0..2,999 a person can ask for: every point, a zoom, downsampled views."""
    out = []
    for params in (
        {"start": 0, "end": 2_999},
        {"start": 990, "end": 1_110, "max_points": 2_000},
        {"start": 0, "end": 2_999, "max_points": 100},
        {"start": 1_400, "end": 1_600, "max_points": 40},
    ):
        reply = http.get(f"/api/runs/{run}/metrics", params={"keys": ",".join(KEYS), **params})
        assert reply.status_code == 200, reply.text
        out.append(reply.json()["metrics"])
    return out


def segment_sizes(server: ServerProcess, db_url: str | None, key: str, run: str = "small") -> list[int]:
    engines = make_engines(Settings(data_dir=server.data_dir, db_url=db_url))
    try:
        with engines.writer.connect() as conn:
            return [
                int(n)
                for (n,) in conn.exec_driver_sql(
                    "SELECT m.n FROM metric_segments m JOIN series s ON s.id = m.series_id "
                    f"WHERE s.run_id = '{run}' AND s.key = '{key}' ORDER BY m.id"
                ).all()
            ]
    finally:
        engines.dispose()


def as_float(v: float | str) -> float:
    return {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}[v] if isinstance(v, str) else float(v)


def test_small_batches_end_compacted_and_read_the_same(
    server: ServerProcess, http: httpx.Client, db_url: str | None
) -> None:
    http.post("/api/runs", json={"id": "small"})
    steps = np.arange(5_000, dtype=np.int64)
    values = (2.5 * np.exp(-steps / 4_000) + 0.01 * np.sin(steps / 50)).astype(np.float32).astype(np.float64)
    values[123] = math.nan
    values[777] = math.inf
    values[1_500] = 1e6  # a spike
    seq = post_in_tens(http, steps[:3_000], values[:3_000], 0)
    # a resume re-logs steps 1,000..1,099: the later values win
    redo = np.full(100, -1.0)
    redo[50] = -1e6
    seq = post_in_tens(http, steps[1_000:1_100], redo, seq)
    expected = values.copy()
    expected[1_000:1_100] = redo

    before = reads(http)
    sizes = segment_sizes(server, db_url, "loss")
    assert max(sizes) < compaction.SMALL_POINTS and len(sizes) > 20  # nothing merged yet

    post_in_tens(http, steps[3_000:], values[3_000:], seq)
    sizes = segment_sizes(server, db_url, "loss")
    assert max(sizes) >= compaction.COMPACT_POINTS  # the small segments were merged
    assert sum(n < compaction.SMALL_POINTS for n in sizes) <= compaction.COMPACT_POINTS // 256 + 1
    assert sizes == segment_sizes(server, db_url, "lr")

    assert reads(http) == before  # bit for bit, every view
    whole = http.get("/api/runs/small/metrics", params={"keys": ",".join(KEYS)}).json()["metrics"]
    assert whole["loss"]["step"] == steps.tolist()
    got = np.array([as_float(v) for v in whole["loss"]["value"]])
    assert got.view("<u8").tolist() == expected.view("<u8").tolist()
    assert [as_float(v) for v in whole["lr"]["value"]][1_050] == -5e5
    assert whole["loss"]["timestamp"][:3] == [T0, T0 + 0.1 + 1e-3, T0 + 0.2 + 2e-3]
    spiky = reads(http)[2]["loss"]
    assert 1e6 in spiky["value"] and -1e6 in spiky["value"] and "NaN" in spiky["value"]


def settled(server: ServerProcess, db_url: str | None, run: str) -> dict[str, list[int]]:
    """The run's segment sizes per key once each key has one segment (the merge runs after the status
    change's reply, in the server's writer); what they are after 30 s otherwise."""
    deadline = time.monotonic() + 30
    while True:
        sizes = {key: segment_sizes(server, db_url, key, run) for key in KEYS}
        if all(len(n) == 1 for n in sizes.values()) or time.monotonic() > deadline:
            return sizes
        time.sleep(0.1)


def test_a_run_ending_before_a_merge_ends_with_one_segment_per_key(
    server: ServerProcess, http: httpx.Client, db_url: str | None
) -> None:
    http.post("/api/runs", json={"id": "short"})
    steps = np.arange(1_500, dtype=np.int64)
    values = (2.5 * np.exp(-steps / 400) + 0.01 * np.sin(steps / 20)).astype(np.float32).astype(np.float64)
    values[300] = math.nan
    values[1_200] = 1e6  # a spike
    seq = post_in_tens(http, steps, values, 0, "short")
    before = reads(http, "short")
    assert len(segment_sizes(server, db_url, "loss", "short")) > 4  # sealed every ~260 points, an open tail

    reply = http.put("/api/runs/short", json={"status": "completed"}, headers=API_HEADERS)
    assert reply.status_code == 200, reply.text
    assert settled(server, db_url, "short") == {"loss": [1_500], "lr": [1_500]}
    assert reads(http, "short") == before  # bit for bit, every view

    # a batch arriving late, after the run ended, lands after the merged points in a segment of its own (a
    # 1,500-point segment is not small: a later end leaves both as they are)
    post_in_tens(http, steps[:20] + 1_500, values[:20], seq, "short")
    whole = http.get("/api/runs/short/metrics", params={"keys": "loss"}).json()["metrics"]["loss"]
    assert whole["step"] == list(range(1_520))
    assert [as_float(v) for v in whole["value"]][1_500:] == values[:20].tolist()
    assert len(segment_sizes(server, db_url, "loss", "short")) == 2
    http.put("/api/runs/short", json={"status": "failed"}, headers=API_HEADERS)
    time.sleep(1)
    assert segment_sizes(server, db_url, "loss", "short") == [1_500, 20]
    again = http.get("/api/runs/short/metrics", params={"keys": "loss"}).json()["metrics"]["loss"]
    assert again == whole
