"""Permalinks: `GET /api/runs/{id}/logs/position` (what `/runs/{id}?line=N`, `?offset=B`, `?t=EPOCH` open at) on a
run of LINES lines (default 200,000, in chunks of 1,000 lines one second apart), for places near the start, the
middle and the end; and listing 1,000 bookmarks. Median of 5 after a warm-up, server and HTTP over loopback.

A line resolves by its primary key (and counts the lines before it for its index); a moment and an offset search
the run's lines by time (no index on time: the cost grows with the lines before the place).
Usage: python bench/log_position.py [--lines N] [postgresql://...]"""

from __future__ import annotations

import argparse
import base64
import time

import httpx

from _server import running_server
from _timing import median_ms

PER_CHUNK = 1_000
T0 = 1_700_000_000.0
HEADERS = {"X-Trainboard": "1"}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("db", nargs="?", default=None)
    ap.add_argument("--lines", type=int, default=200_000)
    args = ap.parse_args()
    n = args.lines - args.lines % PER_CHUNK
    with running_server(args.db) as (url, _data), httpx.Client(base_url=url, timeout=300) as c:
        c.post("/api/runs", json={"id": "pos"}, headers=HEADERS).raise_for_status()
        t = time.perf_counter()
        sizes = []
        for k in range(0, n // PER_CHUNK, 20):
            chunks = []
            for j in range(k, min(k + 20, n // PER_CHUNK)):
                data = "".join(f"step {i} loss {1 / (i + 1):.6f}\n" for i in range(j * PER_CHUNK, (j + 1) * PER_CHUNK))
                sizes.append(len(data))
                chunks.append(
                    {"seq": j + 1, "source": "stdout", "time": T0 + j, "data": base64.b64encode(data.encode()).decode()}
                )
            c.post("/api/runs/pos/logs/raw", json={"chunks": chunks}, headers=HEADERS).raise_for_status()
        print(f"loaded {n:,} lines ({sum(sizes) / 1e6:.1f} MB) in {time.perf_counter() - t:.1f} s")
        for i in range(1_000):
            c.post("/api/runs/pos/bookmarks", json={"line_number": i * (n // 1000), "note": f"n{i}"}, headers=HEADERS)

        def position(**params: float) -> None:
            c.get("/api/runs/pos/logs/position", params=params).raise_for_status()

        print(f"{'place':<28}{'start':>10}{'middle':>10}{'end':>10}  (ms, median of 5)")
        fracs = (0.01, 0.5, 0.99)
        rows = {
            "?line=N": [lambda f=f: position(line=int(n * f)) for f in fracs],
            "?t=EPOCH": [lambda f=f: position(time=T0 + n // PER_CHUNK * f + 0.5) for f in fracs],
            "?offset=B": [lambda f=f: position(offset=int(sum(sizes) * f)) for f in fracs],
        }
        for name, calls in rows.items():
            print(f"{name:<28}" + "".join(f"{median_ms(fn):>10.1f}" for fn in calls))
        listing = median_ms(lambda: c.get("/api/runs/pos/bookmarks").raise_for_status())
        health = median_ms(lambda: c.get("/health").raise_for_status())
        print(f"{'GET bookmarks (1,000)':<28}{listing:>10.1f}")
        print(f"{'GET /health (HTTP floor)':<28}{health:>10.1f}")


if __name__ == "__main__":
    main()
