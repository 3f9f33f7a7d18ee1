"""500 concurrent SSE clients on one run receiving a 10 MB log written at full speed: every client
must get every byte. Reports delivery latency p99 (write acknowledged -> chunk received) and the
server's RSS before and after."""

from __future__ import annotations

import asyncio
import base64
import statistics
import time

import httpx
import psutil

from _server import running_server

CLIENTS = 500
TOTAL = 10 * 1024 * 1024
CHUNK = 64 * 1024


async def client(url: str, sent_at: dict[int, float], lat: list[float]) -> bytes:
    data = bytearray()
    limits = httpx.Limits(max_connections=1)
    async with httpx.AsyncClient(timeout=300, limits=limits) as c, c.stream("GET", url) as resp:
        async for line in resp.aiter_lines():
            if line.startswith("id: "):
                end = int(line[4:])
            elif line.startswith("data: ") and not line.startswith("data: {"):
                data += base64.b64decode(line[6:])
                if end in sent_at:
                    lat.append(time.perf_counter() - sent_at[end])
            elif line.startswith("event: done"):
                break
    return bytes(data)


async def main_async(url: str, pid: int) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=60) as c:
        await c.post("/api/runs", json={"id": "fanout"})
        sent_at: dict[int, float] = {}
        lat: list[float] = []
        tasks = [
            asyncio.create_task(client(f"{url}/api/runs/fanout/logs/stream", sent_at, lat)) for _ in range(CLIENTS)
        ]
        await asyncio.sleep(5)  # let every client connect
        proc = psutil.Process(pid)
        rss0 = proc.memory_info().rss
        payload = (b"0123456789abcdef" * (CHUNK // 16))[:CHUNK]
        t0 = time.perf_counter()
        written = 0
        while written < TOTAL:
            r = await c.post(
                "/api/runs/fanout/logs/raw",
                json={"chunks": [{"source": "stdout", "data": base64.b64encode(payload).decode()}]},
            )
            written += CHUNK
            sent_at[r.json()["size"]] = time.perf_counter()
        write_s = time.perf_counter() - t0
        rss_peak = proc.memory_info().rss
        await c.put("/api/runs/fanout", json={"status": "completed", "exit_code": 0})
        results = await asyncio.gather(*tasks)
        total_s = time.perf_counter() - t0
    expected = payload * (TOTAL // CHUNK)
    ok = sum(1 for r in results if r == expected)
    lat.sort()
    print(
        f"{CLIENTS} clients x {TOTAL / 1e6:.0f} MB: {ok}/{CLIENTS} got every byte; writer {write_s:.1f} s, "
        f"all delivered {total_s:.1f} s"
    )
    print(
        f"delivery latency p50 {statistics.median(lat) * 1000:.0f} ms, p99 {lat[int(len(lat) * 0.99)] * 1000:.0f} ms; "
        f"server RSS {rss0 / 1e6:.0f} MB -> {rss_peak / 1e6:.0f} MB while writing"
    )


def main() -> None:
    with running_server() as (url, _data):
        port = int(url.rsplit(":", 1)[1])
        pid = next(
            c.pid
            for c in psutil.net_connections("tcp")
            if c.laddr and c.laddr.port == port and c.status == psutil.CONN_LISTEN and c.pid
        )
        asyncio.run(main_async(url, pid))


if __name__ == "__main__":
    main()
