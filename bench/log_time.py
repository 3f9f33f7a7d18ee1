"""The run page's time line: `GET /api/runs/{id}/logs/offset?time=` (the raw-log offset at a moment) on a run
whose log holds 50,000 chunks, for moments near the start, the middle and the end (target: < 50 ms each, server
and HTTP included), and the replay fetch of the bytes up to the middle moment (what the terminal writes into a
fresh xterm; capped at 4 MB by the UI). Usage: python bench/log_time.py [postgresql://...]"""

from __future__ import annotations

import base64
import statistics
import sys
import time

import httpx

from _server import running_server

CHUNKS = 50_000
PER_POST = 1_000
T0 = 1_700_000_000.0
STEP_S = 0.01


def chunk(i: int) -> dict[str, object]:
    line = f"step {i:>8}: loss={1 / (i + 1):.6f} lr=0.000300 tokens/s=123456.7\r\n".encode()
    return {"seq": i, "source": "stdout", "time": T0 + i * STEP_S, "data": base64.b64encode(line).decode()}


def timed(c: httpx.Client, url: str, params: dict[str, float | int]) -> tuple[float, httpx.Response]:
    t = time.perf_counter()
    r = c.get(url, params=params)
    return (time.perf_counter() - t) * 1000, r


def main() -> None:
    db = sys.argv[1] if len(sys.argv) > 1 else None
    with running_server(db) as (url, _data), httpx.Client(base_url=url, timeout=120) as c:
        c.post("/api/runs", json={"id": "timeline"}, headers={"X-Trainboard": "1"}).raise_for_status()
        t = time.perf_counter()
        for start in range(0, CHUNKS, PER_POST):
            body = {"chunks": [chunk(i) for i in range(start, start + PER_POST)]}
            c.post("/api/runs/timeline/logs/raw", json=body).raise_for_status()
        print(f"uploaded {CHUNKS:,} chunks in {time.perf_counter() - t:.1f} s ({'PostgreSQL' if db else 'SQLite'})")
        for name, frac in (("start", 0.01), ("middle", 0.5), ("end", 0.99)):
            at = T0 + frac * CHUNKS * STEP_S
            times = []
            answer: dict[str, object] = {}
            for _ in range(20):
                ms, r = timed(c, "/api/runs/timeline/logs/offset", {"time": at})
                r.raise_for_status()
                answer = r.json()
                times.append(ms)
            med, worst = statistics.median(times), max(times)
            print(f"offset at the {name:<6}: median {med:6.1f} ms  max {worst:6.1f} ms  -> byte {answer['offset']:,}")
        mid = c.get("/api/runs/timeline/logs/offset", params={"time": T0 + 0.5 * CHUNKS * STEP_S}).json()["offset"]
        start = max(0, mid - 4 * 1024 * 1024)
        ms, r = timed(c, "/api/runs/timeline/logs", {"offset": start, "limit": mid - start})
        print(f"replay fetch of {len(r.content) / 1e6:.1f} MB up to the middle: {ms:.0f} ms")


if __name__ == "__main__":
    main()
