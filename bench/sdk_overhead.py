"""What logging costs the training loop: 20,000 steps x 10 scalars.

(a) time the training thread spends inside ``log_metrics`` per point;
(b) wall time the logging adds to a pure-Python training loop per point, the background thread's GIL
    time and the final flush included (same loop with and without logging, in one run).
Targets: (a) <= 0.5 us/point, (b) <= 1 us/point. Medians of 3.
"""

from __future__ import annotations

import statistics
import time

from _server import running_server
from trainboard import TrainingMonitor

STEPS = 20_000
KEYS = [f"metric_{i}" for i in range(10)]


def work(step: int) -> float:
    acc = 0.0
    for i in range(300):  # a few tens of microseconds of pure-Python "training"
        acc += (step ^ i) * 1e-9
    return acc


def loop(mon: TrainingMonitor | None) -> tuple[float, float]:
    inside = 0.0
    t0 = time.perf_counter()
    for step in range(STEPS):
        x = work(step)
        metrics = {k: x + j for j, k in enumerate(KEYS)}
        if mon is not None:
            a = time.perf_counter()
            mon.log_metrics(metrics, step=step)
            inside += time.perf_counter() - a
    if mon is not None:
        mon.finish()
    return time.perf_counter() - t0, inside


def main() -> None:
    points = STEPS * len(KEYS)
    with running_server() as (url, data):
        base, inside, added = [], [], []
        for _ in range(3):
            b, _ = loop(None)
            mon = TrainingMonitor(
                "bench",
                dashboard_url=url,
                data_dir=data / "client",
                system_metrics=False,
                capture_output=False,
                flush_timeout=120,
            )
            w, i = loop(mon)
            base.append(b)
            inside.append(i)
            added.append(w - b)
        # the perf_counter pair around each call costs too: measure it to subtract
        t0 = time.perf_counter()
        for _ in range(STEPS):
            a = time.perf_counter()
            _ = time.perf_counter() - a
        timer = (time.perf_counter() - t0) / STEPS
    inside_us = (statistics.median(inside) - timer * STEPS) / points * 1e6
    added_us = statistics.median(added) / points * 1e6
    print(f"loop without logging: {statistics.median(base):.3f} s for {STEPS} steps")
    print(f"(a) inside log_metrics: {inside_us:.3f} us/point (target <= 0.5)")
    print(f"(b) wall time added incl. background thread and final flush: {added_us:.3f} us/point (target <= 1.0)")


if __name__ == "__main__":
    main()
