"""Write latency of a normal run while another client sends the largest metric batch allowed and 1,000
idle streams are attached, against the same run measured alone (the ratio is the figure to quote).

The normal run posts one step of 10 keys at a time, sequentially, and times each request until the
server answers (after commit). The heavy client posts batches of ``MAX_BATCH_KEYS`` keys (about 20 MB
each) back to back. The streams are 500 dashboard WebSockets subscribed to the normal run and 500 SSE
raw-log streams, all reading what they get. No assertions: it prints figures.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import statistics
import time
from typing import Any

import httpx
from websockets.asyncio.client import connect

from _server import running_server
from trainboard.wire import MAX_BATCH_KEYS

SAMPLES = 300
STREAMS = 1000
HEADERS = {"content-type": "application/json"}


def percentiles(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


async def latencies(client: httpx.AsyncClient, run: str, start: int, n: int) -> list[float]:
    out = []
    for i in range(n):
        body = {"points": [{"step": start + i, "metrics": {f"k{j}": i * 0.5 + j for j in range(10)}}]}
        t0 = time.perf_counter()
        resp = await client.post(f"/api/runs/{run}/metrics", json=body)
        out.append((time.perf_counter() - t0) * 1000)
        resp.raise_for_status()
    return out


def big_body() -> bytes:
    """As many steps of ``MAX_BATCH_KEYS`` keys as fit in 30 MB (the body limit is 32 MiB)."""
    keys = [f"layer{j // 100}/p{j % 100}" for j in range(MAX_BATCH_KEYS)]
    row = len(json.dumps({"step": 0, "metrics": {k: 0.123456789 for k in keys}}))
    rows = max(1, 30_000_000 // row)
    points = [{"step": s, "metrics": {k: s + j * 1e-3 for j, k in enumerate(keys)}} for s in range(rows)]
    return json.dumps({"points": points}).encode()


async def heavy(url: str, run: str, stop: asyncio.Event, took: list[float]) -> None:
    body = big_body()
    print(f"heavy batch: {MAX_BATCH_KEYS} keys, {len(body) / 1e6:.1f} MB")
    async with httpx.AsyncClient(base_url=url, timeout=600) as client:
        while not stop.is_set():
            t0 = time.perf_counter()
            resp = await client.post(f"/api/runs/{run}/metrics", content=body, headers=HEADERS)
            took.append(time.perf_counter() - t0)
            resp.raise_for_status()


async def sse_stream(url: str, run: str, stop: asyncio.Event) -> None:
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(f"GET /api/runs/{run}/logs/stream HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode())
    await writer.drain()
    while not stop.is_set():
        try:
            if not await asyncio.wait_for(reader.read(65536), 1.0):
                break
        except TimeoutError:
            continue
    writer.close()


async def ws_stream(url: str, run: str, stop: asyncio.Event) -> None:
    async with connect(url.replace("http", "ws") + "/ws", open_timeout=60) as ws:
        await ws.send(json.dumps({"type": "subscribe", "run_id": run}))
        while not stop.is_set():
            try:
                await asyncio.wait_for(ws.recv(), 1.0)
            except TimeoutError:
                continue


def hold_streams(url: str, done: Any) -> None:
    """In a process of its own: 500 dashboard WebSockets subscribed to the normal run, 500 SSE streams."""

    async def run() -> None:
        stop = asyncio.Event()
        streams = [
            asyncio.create_task(ws_stream(url, "normal", stop) if i % 2 else sse_stream(url, "watched", stop))
            for i in range(STREAMS)
        ]
        await asyncio.to_thread(done.wait)
        stop.set()
        await asyncio.gather(*streams, return_exceptions=True)

    asyncio.run(run())


async def measure(url: str) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=600, headers=HEADERS) as client:
        for run in ("normal", "heavy", "watched"):
            (await client.post("/api/runs", json={"id": run, "name": run})).raise_for_status()
        await latencies(client, "normal", 0, 20)  # warm up
        idle = await latencies(client, "normal", 100, SAMPLES)

        stop = asyncio.Event()
        holder_stop = multiprocessing.Event()
        holder = multiprocessing.Process(target=hold_streams, args=(url, holder_stop))  # not this process's loop
        holder.start()
        await asyncio.sleep(8)  # let every stream attach
        health = (await client.get("/health")).json()
        watched = await latencies(client, "normal", 5_000, SAMPLES)
        took: list[float] = []
        heavy_task = asyncio.create_task(heavy(url, "heavy", stop, took))
        await asyncio.sleep(3)  # the first big batch is on its way
        loaded = await latencies(client, "normal", 10_000, SAMPLES)
        stop.set()
        await heavy_task
        holder_stop.set()
        holder.join(60)

    p50_i, p99_i = percentiles(idle)
    p50_w, p99_w = percentiles(watched)
    p50_l, p99_l = percentiles(loaded)
    print(f"live subscriptions while loaded: {health.get('live_subscriptions')}")
    print(f"big batches written meanwhile: {len(took)}, each {statistics.median(took):.2f} s (median)")
    print(f"normal run write latency alone:  p50 {p50_i:.1f} ms  p99 {p99_i:.1f} ms")
    print(f"with {STREAMS} streams attached:      p50 {p50_w:.1f} ms  p99 {p99_w:.1f} ms")
    print(f"with heavy client + {STREAMS} streams: p50 {p50_l:.1f} ms  p99 {p99_l:.1f} ms")
    print(f"ratio loaded/alone: p50 x{p50_l / p50_i:.1f}  p99 x{p99_l / p99_i:.1f}")


def main() -> None:
    args = ("--max-streams-per-client", str(STREAMS + 10), "--max-streams", str(STREAMS + 10))
    with running_server(extra_args=args) as (url, _data):
        asyncio.run(measure(url))


if __name__ == "__main__":
    main()
