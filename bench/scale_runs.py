"""Many runs ingesting at once (``serve --workers N`` on PostgreSQL + Redis): each run sends, once a second,
what the SDK batches — 10 keys x 10 steps — plus a line of terminal output and a heartbeat. Prints the
ingest lag p50/p99 (a point's client time -> its batch acknowledged, i.e. durable) and ``GET /api/runs``
latency p50/p99 measured meanwhile, and the points/s achieved.

The issue's target is 1,000 runs (100,000 points/s). One asyncio client on a 2-core machine that also runs
the servers cannot drive that many; the defaults are scaled down (``--runs 1000`` asks for the target):

    .venv/bin/python bench/scale_runs.py --runs 200 --seconds 20 --workers 1,2
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import time

import httpx
import psutil

from _cluster import cluster, percentile


async def one_run(c: httpx.AsyncClient, run_id: str, stop: asyncio.Event, lags: list[float], points: list[int]) -> None:
    await c.post("/api/runs", json={"id": run_id, "name": run_id})
    step = 0
    seq = 0
    await asyncio.sleep(hash(run_id) % 1000 / 1000)  # spread the runs over the second
    while not stop.is_set():
        t0 = time.perf_counter()
        now = time.time()
        batch = [
            {
                "step": step + i,
                "timestamp": now - (9 - i) * 0.1,
                "metrics": {f"k{j}": float(step + i + j) for j in range(10)},
            }
            for i in range(10)
        ]
        try:
            r = await c.post(f"/api/runs/{run_id}/metrics", json={"points": batch})
            if r.status_code == 200:
                lags.append(time.time() - (now - 0.9))  # the oldest point of the batch
                points[0] += 100
            line = base64.b64encode(f"step {step} loss {1 / (step + 1):.4f}\n".encode()).decode()
            await c.post(
                f"/api/runs/{run_id}/logs/raw", json={"chunks": [{"seq": seq, "source": "stdout", "data": line}]}
            )
            await c.post(f"/api/runs/{run_id}/heartbeat", headers={"X-Trainboard": "1"})
        except httpx.HTTPError:
            pass
        step += 10
        seq += 1
        await asyncio.sleep(max(0.0, 1.0 - (time.perf_counter() - t0)))


async def list_runs(url: str, stop: asyncio.Event, lat: list[float]) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=60) as c:
        while not stop.is_set():
            t0 = time.perf_counter()
            r = await c.get("/api/runs", params={"limit": 50})
            if r.status_code == 200:
                lat.append(time.perf_counter() - t0)
            await asyncio.sleep(0.5)


async def drive(url: str, runs: int, seconds: float) -> dict[str, float]:
    stop = asyncio.Event()
    lags: list[float] = []
    list_lat: list[float] = []
    points = [0]
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as c:
        tasks = [asyncio.create_task(one_run(c, f"r{i:04d}", stop, lags, points)) for i in range(runs)]
        lister = asyncio.create_task(list_runs(url, stop, list_lat))
        await asyncio.sleep(3)  # ramp up
        lags.clear()
        list_lat.clear()
        points[0] = 0
        t0 = time.perf_counter()
        await asyncio.sleep(seconds)
        span = time.perf_counter() - t0
        achieved = points[0] / span
        stop.set()
        await asyncio.gather(*tasks, lister, return_exceptions=True)
    return {
        "lag_p50": percentile(lags, 0.5),
        "lag_p99": percentile(lags, 0.99),
        "list_p50_ms": percentile(list_lat, 0.5) * 1000,
        "list_p99_ms": percentile(list_lat, 0.99) * 1000,
        "points_per_s": achieved,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--workers", default="1,2")
    args = parser.parse_args()
    print(
        f"{args.runs} runs x (10 keys x 10 steps + 1 log line + 1 heartbeat) per second = "
        f"{args.runs * 100} points/s requested; PostgreSQL + Redis; {psutil.cpu_count()} CPUs"
    )
    print("workers  points/s  lag_p50  lag_p99  GET /api/runs p50  p99")
    for n in (int(x) for x in args.workers.split(",")):
        with cluster(n) as (url, _parent):
            r = asyncio.run(drive(url, args.runs, args.seconds))
        print(
            f"{n:>7} {r['points_per_s']:>9.0f} {r['lag_p50']:>7.2f}s {r['lag_p99']:>7.2f}s "
            f"{r['list_p50_ms']:>12.0f}ms {r['list_p99_ms']:>5.0f}ms",
            flush=True,
        )


if __name__ == "__main__":
    main()
