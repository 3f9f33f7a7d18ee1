"""Group aggregates over 10,000 runs (issue 25): ``GET /api/run-groups`` with a metric, on a real
``trainboard serve`` (SQLite).

The runs are written through the store before the server starts (``tests/support/many_runs``: run rows,
flattened config and every metric point via ``store.metrics.ingest``); each logs ``loss`` and ``acc`` at
``--steps`` steps (runs end at different steps). Timed over loopback, median of 5 after a warm-up:

- the groups alone (membership and metric keys, no aggregate);
- one metric aggregated by ``config.seed`` (3 groups), 200 buckets;
- the same grouped ``over`` seed (one group per (lr, model));
- the same with 2,000 buckets.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.support

from tests.support.many_runs import Spec, seed_data_dir

from _server import CLI, serve_process
from _timing import median_ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--steps", type=int, default=100)
    args = parser.parse_args()
    spec = Spec(count=args.runs, project="many", base_steps=args.steps)
    with tempfile.TemporaryDirectory(prefix="tb-bench-") as tmp:
        data = Path(tmp)
        t0 = time.perf_counter()
        seed_data_dir(data, spec)
        print(
            f"SQLite: {args.runs:,} runs x 2 metrics x {args.steps}-{args.steps + 4} steps written through the store "
            f"in {time.perf_counter() - t0:.1f} s; load {os.getloadavg()[0]:.1f}"
        )
        with serve_process(CLI, data, wait=180) as url, httpx.Client(base_url=url, timeout=300) as c:

            def get(**params: str | int) -> Callable[[], object]:
                return lambda: c.get("/api/run-groups", params={"project": "many", **params}).raise_for_status()

            cases = {
                "groups only (by seed)": get(by="config.seed"),
                "loss by seed, 200 buckets": get(by="config.seed", metric="loss"),
                "loss over seed (8 groups)": get(by="config.seed", mode="over", metric="loss"),
                "loss by seed, 2,000 buckets": get(by="config.seed", metric="loss", buckets=2000),
            }
            for name, fn in cases.items():
                print(f"  {name:32s} {median_ms(fn):8.0f} ms")


if __name__ == "__main__":
    main()
