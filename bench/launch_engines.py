"""Launch to first output byte, and cancel to final status, on real engines: medians of 10 (issue 13).

Starts what it measures on this machine, all on 127.0.0.1: a Ray head (``ray start --head``), a one-node SLURM
cluster (munged, slurmctld, slurmd from Debian's packages) and a ``trainboard serve --allow-launch`` configured
for them (the same engines as ``tests/integration/test_launch_{ray,slurm}.py``). Each measurement is
``bench/launch_local.py``'s: from ``POST /api/launch`` to the first byte on the run's live stream (what the
browser's terminal reads), and from ``POST /api/runs/{id}/cancel`` to the stream's ``done`` event.

    python bench/launch_engines.py                      # local, ray and slurm
    python bench/launch_engines.py --provider slurm --repeat 5
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests' engine support

from tests.support.engines import ray_head, slurm_cluster
from tests.support.launching import CLIENT, launch_server

from launch_local import one


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--provider", action="append", choices=["local", "ray", "slurm"], help="repeatable")
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args()
    providers: list[str] = args.provider or ["local", "ray", "slurm"]
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="tb-bench-engines-")))
        root = tmp / "root"
        root.mkdir()
        config: dict[str, dict[str, Any]] = {}
        client_env = {"TRAINBOARD_DATA": str(tmp / "client")}
        if "ray" in providers:
            head = stack.enter_context(ray_head())
            config["ray"] = {"address": head.dashboard_url, "client": CLIENT, "env": client_env}
        if "slurm" in providers:
            cluster = stack.enter_context(slurm_cluster())
            config["slurm"] = {"client": CLIENT, "slurm_conf": str(cluster.conf), "env": client_env}
        server = stack.enter_context(launch_server(tmp / "data", root, config, cancel_grace=5))
        http = stack.enter_context(server.client())
        http.timeout = httpx.Timeout(args.timeout)
        print(f"{'provider':<10} {'launch->first byte (median)':>28} {'cancel->final status (median)':>30}  n")
        for provider in providers:
            firsts, cancels = [], []
            for _ in range(args.repeat):
                first, cancel = one(http, provider, sys.executable, str(root), args.timeout)
                firsts.append(first)
                cancels.append(cancel)
            first_ms, cancel_ms = statistics.median(firsts) * 1000, statistics.median(cancels) * 1000
            print(
                f"{provider:<10} {first_ms:>25.0f} ms {cancel_ms:>27.0f} ms"
                f"  {args.repeat}   (launch min {min(firsts) * 1000:.0f} / max {max(firsts) * 1000:.0f} ms; "
                f"cancel min {min(cancels) * 1000:.0f} / max {max(cancels) * 1000:.0f} ms)",
                flush=True,
            )


if __name__ == "__main__":
    main()
