"""Cost of persisting the line index state with every raw append (what makes derived lines survive a
SIGKILL): many small appends, as `trainboard run` sends a redrawn progress bar, against a real server.

Prints appends per second for (a) one bar redrawn with `\\r` (the open line changes with every append)
and (b) plain lines (mostly final lines), next to (c) appends to a run whose bytes carry no line at all
(a floor: the same request path with nothing to index). Compare the ratios, not the absolute figures.

    python bench/line_state_overhead.py [--appends 2000]
"""

from __future__ import annotations

import argparse
import base64
import time
from collections.abc import Callable

import httpx

from _server import running_server


def bar(i: int) -> bytes:
    return f"\rtrain: {i % 100:3d}%|{'#' * (i % 10):<10}| {i}/100000 [00:01<00:02, 12.3it/s]".encode()


def plain(i: int) -> bytes:
    return f"step {i:>8}: loss={1 / (i + 1):.6f} lr=0.000300 ok\n".encode()


def empty(i: int) -> bytes:
    return b"\x1b[?25l"  # a private mode: consumed, no text


def measure(c: httpx.Client, run_id: str, make: Callable[[int], bytes], appends: int) -> float:
    c.post("/api/runs", json={"id": run_id})
    t0 = time.perf_counter()
    for i in range(appends):
        data = base64.b64encode(make(i)).decode()
        resp = c.post(f"/api/runs/{run_id}/logs/raw", json={"chunks": [{"source": "stdout", "data": data}]})
        resp.raise_for_status()
    return appends / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--appends", type=int, default=2000)
    args = parser.parse_args()
    with running_server() as (url, _data), httpx.Client(base_url=url, timeout=60) as c:
        floor = measure(c, "floor", empty, args.appends)
        redraw = measure(c, "bar", bar, args.appends)
        lines = measure(c, "plain", plain, args.appends)
    print(f"(c) no text (floor)     {floor:8.0f} appends/s")
    print(f"(a) one bar, redrawn    {redraw:8.0f} appends/s   {redraw / floor:.2f}x the floor")
    print(f"(b) plain lines         {lines:8.0f} appends/s   {lines / floor:.2f}x the floor")


if __name__ == "__main__":
    main()
