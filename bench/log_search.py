"""A run with 1,000,000 log lines (~100 MB): first page of `search=` for a rare string (target
< 300 ms), a `level=error` page (< 100 ms), and a CSV download of every line with the server's RSS
growth (< 100 MB)."""

from __future__ import annotations

import base64
import statistics
import threading
import time

import httpx
import psutil

from _server import running_server

LINES = 1_000_000
PER_CHUNK = 40_000


def make_chunk(start: int) -> bytes:
    out = []
    for i in range(start, start + PER_CHUNK):
        if i % 1000 == 0:
            out.append(f"2026-11-22 12:00:00,000 - trainer - ERROR - step {i}: gradient overflow, skipping batch")
        elif i == 777_777:
            out.append(f"step {i}: loss became nan (needle-in-the-haystack)")
        else:
            out.append(f"step {i:>8}: loss={1 / (i + 1):.6f} lr=0.000300 grad_norm=1.2345 tokens/s=123456.7 ok")
    return ("\n".join(out) + "\n").encode()


def timed(c: httpx.Client, path: str, **params: object) -> tuple[float, dict[str, object]]:
    times = []
    body: dict[str, object] = {}
    for _ in range(5):
        t = time.perf_counter()
        r = c.get(path, params=params)  # type: ignore[arg-type]
        times.append(time.perf_counter() - t)
        body = r.json()
    return statistics.median(times) * 1000, body


def main() -> None:
    with running_server() as (url, _data), httpx.Client(base_url=url, timeout=600) as c:
        port = int(url.rsplit(":", 1)[1])
        pid = next(
            x.pid
            for x in psutil.net_connections("tcp")
            if x.laddr and x.laddr.port == port and x.status == psutil.CONN_LISTEN and x.pid
        )
        server = psutil.Process(pid)
        c.post("/api/runs", json={"id": "big", "name": "log-search"})
        t0 = time.perf_counter()
        size = 0
        for start in range(0, LINES, PER_CHUNK):
            chunk = make_chunk(start)
            size += len(chunk)
            c.post(
                "/api/runs/big/logs/raw",
                json={"chunks": [{"source": "stdout", "data": base64.b64encode(chunk).decode()}]},
            )
        c.put("/api/runs/big", json={"status": "completed", "exit_code": 0})
        load_s = time.perf_counter() - t0
        total = c.get("/api/runs/big/logs/summary").json()["total"]
        print(f"indexed {total:,} lines ({size / 1e6:.0f} MB) in {load_s:.1f} s ({size / 1e6 / load_s:.1f} MB/s)")
        ms, body = timed(c, "/api/runs/big/logs/lines", search="NEEDLE-IN", limit=100, count="false")
        print(f"search= rare string, first page: {ms:.0f} ms ({len(body['lines'])} line) (target < 300 ms)")  # type: ignore[arg-type]
        ms, body = timed(c, "/api/runs/big/logs/lines", level="error", limit=100, count="false")
        print(f"level=error, first page of 100: {ms:.0f} ms (target < 100 ms)")
        ms, body = timed(c, "/api/runs/big/logs/lines", level="error", limit=100, count="false", after=500_000)
        print(f"level=error, a page from the middle: {ms:.0f} ms")
        rss0 = server.memory_info().rss
        peak = rss0
        done = threading.Event()

        def watch() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, server.memory_info().rss)
                time.sleep(0.05)

        watcher = threading.Thread(target=watch)
        watcher.start()
        t = time.perf_counter()
        got = 0
        with c.stream("GET", "/api/runs/big/logs/download", params={"format": "csv"}) as resp:
            for part in resp.iter_bytes():
                got += len(part)
        done.set()
        watcher.join()
        print(
            f"CSV download of every line: {got / 1e6:.0f} MB in {time.perf_counter() - t:.1f} s; server RSS "
            f"growth {(peak - rss0) / 1e6:.0f} MB (target < 100 MB)"
        )


if __name__ == "__main__":
    main()
