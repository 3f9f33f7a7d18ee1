"""Points per second from the SDK until durable in the server's SQLite (server in its own process).

Logs 1,000,000 points (100,000 steps x 10 keys) as fast as the loop can, then ``finish()`` waits for
the server's acknowledgement (sent after commit, synchronous=FULL). Target: >= 500,000 points/s.
"""

from __future__ import annotations

import statistics
import time

import httpx

from _server import running_server
from trainboard import TrainingMonitor

STEPS = 100_000
KEYS = [f"k{i}" for i in range(10)]


def main() -> None:
    rates = []
    with running_server() as (url, data):
        for rep in range(3):
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
            print(f"run {rep}: loop {loop_s:.2f} s, durable after {total:.2f} s -> {rates[-1]:,.0f} points/s")
    print(f"ingest: {statistics.median(rates):,.0f} points/s durable (median of 3; target >= 500,000)")


if __name__ == "__main__":
    main()
