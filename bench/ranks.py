"""N ranks of one distributed run (default 64), each a separate process writing 1 MB of terminal output through the
real client (``TrainingMonitor`` in a torchrun-like environment: the rank is detected, the run id derived from the
job id) into one ``trainboard serve``. Prints the aggregate MB/s (first byte written -> last rank's output
acknowledged), per-rank upload latency (its first write -> all of its bytes acknowledged: p50 / p95 / max), the
server's RSS (before, peak, after) and whether every rank's stream holds exactly its bytes.

    .venv/bin/python bench/ranks.py                 # 64 ranks x 1 MB, SQLite
    .venv/bin/python bench/ranks.py --ranks 256 --mb 0.25
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import psutil

from _server import CLI, served

WORKER = r"""
import json, os, sys, time
from trainboard import TrainingMonitor
rank, size, start_at = int(os.environ["RANK"]), int(os.environ["BENCH_BYTES"]), float(os.environ["BENCH_START"])
mon = TrainingMonitor(run_name="bench-ranks", capture_output=False, system_metrics=False, heartbeat_interval=60)
line = lambda i: (b"rank %05d line %07d " % (rank, i)).ljust(127, b".") + b"\n"
lines, written, i = [], 0, 0
while written < size:
    chunk = line(i); lines.append(chunk); written += len(chunk); i += 1
time.sleep(max(0.0, start_at - time.time()))
t0 = time.time()
for n, chunk in enumerate(lines):
    mon.log_output(chunk)
    if n % 512 == 0:
        mon.log_metrics({"loss": 1.0 / (n + 1)}, step=n // 512)
t_written = time.time()
ok = mon.flush(300)
t_acked = time.time()
mon.finish()
print(json.dumps({"rank": rank, "t0": t0, "written": t_written, "acked": t_acked, "ok": ok, "bytes": written}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ranks", type=int, default=64)
    ap.add_argument("--mb", type=float, default=1.0, help="MB of output per rank")
    ap.add_argument("--db", default=None, help="postgresql://... (default: SQLite in a temporary folder)")
    args = ap.parse_args()
    size = int(args.mb * 1_000_000)
    with tempfile.TemporaryDirectory(prefix="bench-ranks-") as tmp:
        extra = ("--db", args.db) if args.db else ()
        with served(CLI, Path(tmp) / "server", *extra, wait=60) as (url, proc):
            server = psutil.Process(proc.pid)
            rss_before = _rss(server)
            peak = [rss_before]
            stop = threading.Event()
            sampler = threading.Thread(target=_sample, args=(server, peak, stop), daemon=True)
            sampler.start()
            start_at = time.time() + 3.0 + 0.05 * args.ranks  # every worker imported and attached by then
            procs = []
            for rank in range(args.ranks):
                env = dict(os.environ) | {
                    "RANK": str(rank),
                    "LOCAL_RANK": str(rank % 8),
                    "WORLD_SIZE": str(args.ranks),
                    "LOCAL_WORLD_SIZE": "8",
                    "GROUP_RANK": str(rank // 8),
                    "TORCHELASTIC_RUN_ID": "bench-ranks-job",
                    "TRAINBOARD_URL": url,
                    "TRAINBOARD_DATA": str(Path(tmp) / f"client{rank}"),
                    "BENCH_BYTES": str(size),
                    "BENCH_START": str(start_at),
                }
                env.pop("TRAINBOARD_RUN_ID", None)
                procs.append(subprocess.Popen([sys.executable, "-c", WORKER], stdout=subprocess.PIPE, env=env))
            results = [json.loads(p.communicate(timeout=900)[0]) for p in procs]
            stop.set()
            sampler.join()
            rss_after = _rss(server)
            runs = httpx.get(f"{url}/api/runs").json()["runs"]
            rid = runs[0]["id"]
            ranks = httpx.get(f"{url}/api/runs/{rid}/ranks", timeout=60).json()["ranks"]
            exact = sum(
                1
                for r in results
                if httpx.get(
                    f"{url}/api/runs/{rid}/logs", params={"rank": r["rank"], "limit": size + 1}, timeout=60
                ).content.startswith(b"rank %05d line 0000000 " % r["rank"])
                and next(x["bytes"] for x in ranks if x["rank"] == r["rank"]) == r["bytes"]
            )
    t0 = min(r["t0"] for r in results)
    end = max(r["acked"] for r in results)
    total_mb = sum(r["bytes"] for r in results) / 1e6
    lat = sorted(r["acked"] - r["t0"] for r in results)
    write = sorted(r["written"] - r["t0"] for r in results)
    print(
        f"ranks: {args.ranks} x {size / 1e6:g} MB = {total_mb:.1f} MB into one run ({len(runs)} run(s) on the server)"
    )
    print(f"aggregate: {total_mb / (end - t0):.2f} MB/s ({end - t0:.1f} s from the first byte to the last ack)")
    print(
        f"per-rank upload latency (first write -> all acked): p50 {_q(lat, 0.5):.2f} s, p95 {_q(lat, 0.95):.2f} s, "
        f"max {lat[-1]:.2f} s; time to hand the bytes to the SDK: p50 {_q(write, 0.5):.3f} s"
    )
    mib = [v / 2**20 for v in (rss_before, peak[0], rss_after)]
    print(f"server RSS: {mib[0]:.0f} MiB before, {mib[1]:.0f} MiB peak, {mib[2]:.0f} MiB after")
    print(
        f"ranks registered: {len(ranks)}; streams exact (first line and byte count): {exact}/{args.ranks}; "
        f"all flushed: {all(r['ok'] for r in results)}"
    )
    print(f"load: {os.getloadavg()[0]:.1f} (1 min) on {os.cpu_count()} CPUs")


def _rss(proc: psutil.Process) -> int:
    total = proc.memory_info().rss
    for child in proc.children(recursive=True):
        try:
            total += child.memory_info().rss
        except psutil.Error:
            pass
    return total


def _sample(proc: psutil.Process, peak: list[int], stop: threading.Event) -> None:
    while not stop.wait(0.2):
        try:
            peak[0] = max(peak[0], _rss(proc))
        except psutil.Error:
            return


def _q(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(q * len(values)))]


if __name__ == "__main__":
    main()
