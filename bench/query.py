"""One key with 1,000,000 points fetched with max_points=2000 (target: under 150 ms).

Reports the request's latency on loopback (server time plus a little HTTP), median of 7, and the
full-resolution fetch of a zoomed 1,000-step window for comparison.
"""

from __future__ import annotations

import math
import statistics
import time

import httpx

from _server import running_server

N = 1_000_000


def main() -> None:
    with running_server() as (url, _data), httpx.Client(base_url=url, timeout=120) as c:
        c.post("/api/runs", json={"id": "q", "name": "query-bench"})
        t0 = time.perf_counter()
        for start in range(0, N, 50_000):
            pts = [
                {"step": i, "metrics": {"loss": math.sin(i / 1000) + (50.0 if i % 99_991 == 0 else 0.0)}}
                for i in range(start, start + 50_000)
            ]
            c.post("/api/runs/q/metrics", json={"points": pts}).raise_for_status()
        print(f"loaded {N:,} points in {time.perf_counter() - t0:.1f} s")
        cases: list[tuple[str, dict[str, str | int]]] = [
            ("max_points=2000, whole range", {"keys": "loss", "max_points": 2000}),
            ("zoom 1,000 steps, raw", {"keys": "loss", "max_points": 2000, "start": 500_000, "end": 500_999}),
        ]
        for label, params in cases:
            times = []
            for _ in range(7):
                t = time.perf_counter()
                series = c.get("/api/runs/q/metrics", params=params).json()["metrics"]["loss"]
                times.append(time.perf_counter() - t)
            spikes = sum(1 for v in series["value"] if isinstance(v, float) and v > 40)
            print(
                f"{label}: {statistics.median(times) * 1000:.1f} ms median, {len(series['step'])} points "
                f"returned of {series['count']:,} (spikes kept: {spikes})"
            )


if __name__ == "__main__":
    main()
