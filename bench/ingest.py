"""Points per second from the SDK until durable in the server's SQLite (server in its own process).

Logs 1,000,000 points (100,000 steps x 10 keys) as fast as the loop can, then ``finish()`` waits for
the server's acknowledgement (sent after commit, synchronous=FULL). Target: >= 500,000 points/s.

Four servers in one run, so the ratios are measured under the same machine load: ``before`` stores as
the code did before issue 16 (raw segments, no pyramid, no compaction), ``no compaction`` compresses and
keeps the pyramid but leaves small sealed segments as written, ``after`` is the server as shipped,
``no-tail-rewrite`` writes every small append as a segment of its own instead of extending the open tail.

    .venv/bin/python bench/ingest.py [--variants before,no-compaction,after,no-tail-rewrite] [--reps 3]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx

from _server import serve_process
from trainboard import TrainingMonitor

STEPS = 100_000
KEYS = [f"k{i}" for i in range(10)]
VARIANTS = ("before", "no-compaction", "after", "no-tail-rewrite")


@contextlib.contextmanager
def server(variant: str) -> Iterator[tuple[str, Path]]:
    """(url, data dir) of ``trainboard serve`` in a process of its own, storing as ``variant`` says."""
    with tempfile.TemporaryDirectory(prefix="tb-ingest-") as tmp:
        data = Path(tmp)
        with serve_process((sys.executable, __file__, "--serve", variant), data, wait=60) as url:
            yield url, data


def serve(variant: str, argv: list[str]) -> None:
    """Run the CLI (``argv``) with the store patched as ``variant`` says (in the server's process)."""
    import metric_storage
    from trainboard.cli import main

    ctx: dict[str, Callable[[], contextlib.AbstractContextManager[None]]] = {
        "before": metric_storage.before_issue_16,
        "no-compaction": metric_storage.no_compaction,
        "after": contextlib.nullcontext,
        "no-tail-rewrite": metric_storage.no_tail_rewrite,
    }
    sys.argv = ["trainboard", *argv]
    with ctx[variant]():
        main()


def measure(variant: str, reps: int) -> list[float]:
    rates = []
    with server(variant) as (url, data):
        for rep in range(reps):
            mon = TrainingMonitor(
                f"ingest-{rep}",
                dashboard_url=url,
                data_dir=data / "client",
                system_metrics=False,
                capture_output=False,
                flush_timeout=600,
            )
            t0 = time.perf_counter()
            for step in range(STEPS):
                mon.log_metrics({k: step + j * 0.5 for j, k in enumerate(KEYS)}, step=step)
            loop_s = time.perf_counter() - t0
            assert mon.finish()
            total = time.perf_counter() - t0
            count = httpx.get(
                f"{url}/api/runs/{mon.run_id}/metrics", params={"keys": "k9", "max_points": 10}, timeout=60
            ).json()["metrics"]["k9"]["count"]
            assert count == STEPS, count
            rates.append(STEPS * len(KEYS) / total)
            print(
                f"  {variant:13} run {rep}: loop {loop_s:.2f} s, durable after {total:.2f} s "
                f"-> {rates[-1]:,.0f} points/s"
            )
    return rates


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--serve":
        serve(sys.argv[2], sys.argv[3:])
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()
    medians = {}
    for variant in args.variants.split(","):
        medians[variant] = statistics.median(measure(variant, args.reps))
    for variant, rate in medians.items():
        ratio = f" ({rate / medians['before']:.2f}x before)" if "before" in medians else ""
        print(f"ingest {variant:13}: {rate:,.0f} points/s durable (median of {args.reps}){ratio}; target >= 500,000")
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
