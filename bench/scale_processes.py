"""1 vs 2 vs 4 server processes (``serve --workers N``, PostgreSQL + Redis): SSE viewers of one run's log and
dashboard WebSocket clients of another run while metrics are ingested. Prints per N: bytes delivered to every
viewer (must be all), SSE delivery p50/p99 (write acknowledged -> chunk received), WebSocket metric_update
delivery p50/p99, ingest rate achieved, and peak RSS per server process.

The issue's targets are 1,000 SSE viewers, a 10 MB log, 100 WebSocket clients and 100,000 points/s; a 2-core
machine that also runs the clients cannot generate that, so the defaults are scaled down (flags raise them):

    .venv/bin/python bench/scale_processes.py --viewers 100 --log-mb 2 --ws 50 --points-per-s 5000
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import time

import httpx
import psutil
import websockets

from _cluster import cluster, percentile, server_processes

CHUNK = 64 * 1024


async def sse_viewer(url: str, sent_at: dict[int, float], lat: list[float], total: int) -> int:
    got = 0
    end = 0
    async with httpx.AsyncClient(timeout=600) as c, c.stream("GET", url) as resp:
        async for line in resp.aiter_lines():
            if line.startswith("id: "):
                end = int(line[4:])
            elif line.startswith("data: ") and not line.startswith("data: {"):
                got += len(base64.b64decode(line[6:]))
                if end in sent_at:
                    lat.append(time.perf_counter() - sent_at[end])
                if got >= total:
                    break
            elif line.startswith("event: ") and "log" not in line:
                break
    return got


async def ws_client(url: str, run_id: str, sent_at: dict[int, float], lat: list[float], stop: asyncio.Event) -> None:
    async with websockets.connect(url, max_size=None) as ws:
        await ws.send(json.dumps({"type": "subscribe", "run_id": run_id}))
        while not stop.is_set():
            try:
                raw = await asyncio.wait_for(ws.recv(), 0.5)
            except TimeoutError:
                continue
            msg = json.loads(raw)
            if msg.get("type") == "metric_update" and msg["step"] in sent_at:
                lat.append(time.perf_counter() - sent_at[msg["step"]])


async def ingest(url: str, run_id: str, rate: int, sent_at: dict[int, float], stop: asyncio.Event) -> int:
    """Batches of 10 keys x ``rate / 10 / 10`` steps, ten a second; returns the points acknowledged."""
    steps_per_batch = max(1, rate // 100)
    step = 0
    done = 0
    async with httpx.AsyncClient(base_url=url, timeout=60) as c:
        while not stop.is_set():
            t0 = time.perf_counter()
            now = time.time()
            points = [
                {"step": step + i, "timestamp": now, "metrics": {f"k{j}": float(i + j) for j in range(10)}}
                for i in range(steps_per_batch)
            ]
            r = await c.post(f"/api/runs/{run_id}/metrics", json={"points": points})
            if r.status_code == 200:
                sent_at[step + steps_per_batch - 1] = time.perf_counter()
                done += 10 * steps_per_batch
            step += steps_per_batch
            await asyncio.sleep(max(0.0, 0.1 - (time.perf_counter() - t0)))
    return done


async def one(url: str, procs: list[psutil.Process], args: argparse.Namespace) -> dict[str, float]:
    total = int(args.log_mb * 1024 * 1024)
    async with httpx.AsyncClient(base_url=url, timeout=60) as c:
        await c.post("/api/runs", json={"id": "viewed"})
        await c.post("/api/runs", json={"id": "charted"})
        sent_log: dict[int, float] = {}
        sent_steps: dict[int, float] = {}
        sse_lat: list[float] = []
        ws_lat: list[float] = []
        stop = asyncio.Event()
        ws_url = url.replace("http://", "ws://") + "/ws"
        viewers = [
            asyncio.create_task(sse_viewer(f"{url}/api/runs/viewed/logs/stream", sent_log, sse_lat, total))
            for _ in range(args.viewers)
        ]
        sockets = [asyncio.create_task(ws_client(ws_url, "charted", sent_steps, ws_lat, stop)) for _ in range(args.ws)]
        await asyncio.sleep(3 + args.viewers / 100)
        rss = {p.pid: p.memory_info().rss for p in procs}
        ingester = asyncio.create_task(ingest(url, "charted", args.points_per_s, sent_steps, stop))
        payload = (b"0123456789abcdef" * (CHUNK // 16))[:CHUNK]
        t0 = time.perf_counter()
        written = 0
        seq = 0
        while written < total:
            part = payload[: total - written]
            r = await c.post(
                "/api/runs/viewed/logs/raw",
                json={"chunks": [{"seq": seq, "source": "stdout", "data": base64.b64encode(part).decode()}]},
            )
            seq += 1
            written += len(part)
            sent_at = time.perf_counter()
            sent_log[r.json()["size"]] = sent_at
            for p in procs:
                rss[p.pid] = max(rss[p.pid], p.memory_info().rss)
        write_s = time.perf_counter() - t0
        got = await asyncio.wait_for(asyncio.gather(*viewers), 600)
        span = time.perf_counter() - t0
        stop.set()
        points = await ingester
        await asyncio.gather(*sockets, return_exceptions=True)
        return {
            "viewers_complete": sum(g == total for g in got),
            "write_s": write_s,
            "delivered_s": span,
            "sse_p50_ms": percentile(sse_lat, 0.5) * 1000,
            "sse_p99_ms": percentile(sse_lat, 0.99) * 1000,
            "ws_p50_ms": percentile(ws_lat, 0.5) * 1000,
            "ws_p99_ms": percentile(ws_lat, 0.99) * 1000,
            "points_per_s": points / span,
            "rss_mb": max(rss.values()) / 1e6,
            "rss_mb_all": sum(rss.values()) / 1e6,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--viewers", type=int, default=100)
    parser.add_argument("--log-mb", type=float, default=2.0)
    parser.add_argument("--ws", type=int, default=50)
    parser.add_argument("--points-per-s", type=int, default=5000)
    args = parser.parse_args()
    print(
        f"{args.viewers} SSE viewers x {args.log_mb} MB log, {args.ws} WebSocket dashboards, "
        f"{args.points_per_s} points/s requested; PostgreSQL + Redis; {psutil.cpu_count()} CPUs"
    )
    print("workers  complete  write_s  sse_p50  sse_p99  ws_p50  ws_p99  points/s  peak_RSS/proc  RSS_all")
    for n in (int(x) for x in args.workers.split(",")):
        with cluster(n) as (url, parent):
            r = asyncio.run(one(url, server_processes(parent), args))
        print(
            f"{n:>7}  {int(r['viewers_complete']):>4}/{args.viewers:<4} {r['write_s']:>7.1f}s "
            f"{r['sse_p50_ms']:>6.0f}ms "
            f"{r['sse_p99_ms']:>6.0f}ms {r['ws_p50_ms']:>5.0f}ms {r['ws_p99_ms']:>5.0f}ms {r['points_per_s']:>9.0f} "
            f"{r['rss_mb']:>10.0f} MB {r['rss_mb_all']:>6.0f} MB",
            flush=True,
        )


if __name__ == "__main__":
    main()
