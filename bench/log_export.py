"""Log export to Loki: lines per second a real ``trainboard serve`` exports to the Loki stand-in
(``tests/support/loki_standin.py``, in its own process: it parses and checks every push as Loki's API documents
it, so its own cost is in the figure), and what export costs ingest: the wall time of posting the same lines with
export off and on, as a ratio (the median of several rounds, in alternating order, each on fresh servers).

    .venv/bin/python bench/log_export.py [--lines 30000] [--batch 1000] [--rounds 3]

The stand-in runs on the same machine: on a loaded machine its own work shows in the "on" time too.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from _server import CLI, free_port, serve_process

ROOT = Path(__file__).resolve().parents[1]


def post_all(url: str, lines: int, batch: int) -> float:
    """Seconds to post ``lines`` lines in batches of ``batch`` (each answered before the next is sent)."""
    with httpx.Client(base_url=url, timeout=120, headers={"X-Trainboard": "1"}) as http:
        run = http.post("/api/runs", json={"name": "export-bench", "project": "bench"}).json()["id"]
        started = time.perf_counter()
        for first in range(0, lines, batch):
            body = {
                "lines": [
                    {"message": f"step {i} loss {1 / (i + 1):.6f} lr 0.0003 tokens/s 51234.5", "level": "INFO"}
                    for i in range(first, min(first + batch, lines))
                ]
            }
            answer = http.post(f"/api/runs/{run}/logs/batch", json=body)
            answer.raise_for_status()
        return time.perf_counter() - started


def entries(loki_url: str) -> dict[str, int]:
    stats: dict[str, int] = httpx.get(loki_url + "/stats").json()
    return stats


def one_round(n: int, args: argparse.Namespace, tmp: Path, config: Path, loki_url: str) -> tuple[float, float]:
    """(on/off ratio, export lines/s) of one round; prints its figures."""
    times: dict[str, float] = {}
    for mode in ("off", "on") if n % 2 == 0 else ("on", "off"):
        extra = ("--exporters", str(config)) if mode == "on" else ()
        with serve_process(CLI, tmp / f"{mode}{n}", *extra) as url:
            before = entries(loki_url)["entries"]
            started = time.perf_counter()
            times[mode] = post_all(url, args.lines, args.batch)
            if mode == "off":
                continue
            while (got := entries(loki_url))["entries"] - before < args.lines and time.perf_counter() - started < 600:
                time.sleep(0.05)
            exported_in = time.perf_counter() - started
            exported = got["entries"] - before
            status = httpx.get(url + "/api/export/status").json()["sinks"][0]
    ratio, rate = times["on"] / times["off"], args.lines / exported_in
    print(
        f"round {n + 1}: ingest off {times['off']:.2f} s ({args.lines / times['off']:,.0f} lines/s), "
        f"on {times['on']:.2f} s ({args.lines / times['on']:,.0f} lines/s): {ratio:.2f}x; exported "
        f"{exported:,} lines {exported_in:.2f} s after the first post ({rate:,.0f} lines/s end to "
        f"end), dropped {status['dropped']}, pushes refused so far {got['refused']}"
    )
    return ratio, rate


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=30_000, help="lines per measurement")
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3, help="off/on pairs, in alternating order")
    args = parser.parse_args()

    port = free_port()
    loki = subprocess.Popen([sys.executable, "-m", "tests.support.loki_standin", str(port)], cwd=ROOT)
    loki_url = f"http://127.0.0.1:{port}"
    results = []
    try:
        for _ in range(100):
            try:
                entries(loki_url)
                break
            except httpx.HTTPError:
                time.sleep(0.05)
        with tempfile.TemporaryDirectory(prefix="tb-bench-export-") as tmp:
            config = Path(tmp) / "exporters.toml"
            config.write_text(
                f'[sinks.loki]\ntype = "loki"\nendpoint = "{loki_url}"\nbatch_size = 5000\nbatch_interval = 0.2\n'
                "max_buffer = 10000000\n"
            )
            results = [one_round(n, args, Path(tmp), config, loki_url) for n in range(args.rounds)]
    finally:
        loki.terminate()
        loki.wait(10)
    print(f"{args.rounds} rounds of {args.lines:,} lines in batches of {args.batch}")
    print(f"ingest cost of export (on/off wall time), median: {statistics.median(r for r, _ in results):.2f}x")
    print(f"export throughput to the Loki stand-in, median: {statistics.median(r for _, r in results):,.0f} lines/s")


if __name__ == "__main__":
    main()
