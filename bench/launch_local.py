"""Launch to first output byte, and cancel to final status, per provider: medians of 10 (issue 13).

Launch to first byte: from ``POST /api/launch`` to the first byte of the job's output on the run's live stream
(``/api/runs/{id}/logs/stream``, what the browser's terminal reads). Cancel to final status: from
``POST /api/runs/{id}/cancel`` to the stream's ``done`` event (the run's status is final).

    python bench/launch_local.py                          # local, on a server this script starts
    python bench/launch_local.py --provider ray --url http://127.0.0.1:8000 --token T --cwd /shared/dir

Providers are a parameter (``--provider``, repeatable): ray and slurm are measured against a server already
configured for them (``--url``). The job is a Python one-liner that prints a line every 50 ms; ``--python``
names the interpreter on the execution side.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from typing import Any

import httpx

from _server import running_server

JOB = "import time\nwhile True:\n    print('tick', flush=True)\n    time.sleep(0.05)\n"


def first_event(http: httpx.Client, run_id: str, kind: str, timeout: float) -> float:
    """Seconds until the stream delivers an event of ``kind`` (``log`` or ``done``); the clock starts earlier."""
    deadline = time.monotonic() + timeout
    with http.stream("GET", f"/api/runs/{run_id}/logs/stream", timeout=timeout) as resp:
        for line in resp.iter_lines():
            if line == f"event: {kind}":
                return time.monotonic()
            if time.monotonic() > deadline:
                break
    raise TimeoutError(f"no {kind} event for {run_id} within {timeout} s")


def one(http: httpx.Client, provider: str, python: str, cwd: str | None, timeout: float) -> tuple[float, float]:
    body: dict[str, Any] = {"provider": provider, "argv": [python, "-c", JOB], "name": "bench-launch"}
    if cwd:
        body["cwd"] = cwd
    t0 = time.monotonic()
    resp = http.post("/api/launch", json=body)
    resp.raise_for_status()
    run_id = resp.json()["id"]
    first = first_event(http, run_id, "log", timeout) - t0
    t1 = time.monotonic()
    http.post(f"/api/runs/{run_id}/cancel").raise_for_status()
    done = first_event(http, run_id, "done", timeout) - t1
    return first, done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--provider", action="append", help="provider to measure (repeatable) [default: local]")
    parser.add_argument("--url", help="an existing server with --allow-launch [default: start one for local]")
    parser.add_argument("--token", help="a token with the launch scope (servers with authentication on)")
    parser.add_argument("--cwd", help="working directory of the job on the execution side")
    parser.add_argument("--python", default=sys.executable, help="the job's interpreter on the execution side")
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args()
    providers = args.provider or ["local"]
    with ExitStack() as stack:
        url = args.url
        if url is None:
            root = stack.enter_context(tempfile.TemporaryDirectory(prefix="tb-launch-root-"))
            url, _ = stack.enter_context(
                running_server(extra_args=("--allow-launch", "--launch-root", root, "--cancel-grace", "5"))
            )
        headers = {"X-Trainboard": "1"} | ({"Authorization": f"Bearer {args.token}"} if args.token else {})
        http = stack.enter_context(httpx.Client(base_url=url, headers=headers, timeout=args.timeout))
        print(f"{'provider':<10} {'launch->first byte (median)':>28} {'cancel->final status (median)':>30}  n")
        for provider in providers:
            firsts, cancels = [], []
            for _ in range(args.repeat):
                first, cancel = one(http, provider, args.python, args.cwd, args.timeout)
                firsts.append(first)
                cancels.append(cancel)
            first_ms, cancel_ms = statistics.median(firsts) * 1000, statistics.median(cancels) * 1000
            print(
                f"{provider:<10} {first_ms:>25.0f} ms {cancel_ms:>27.0f} ms"
                f"  {args.repeat}   (launch min {min(firsts) * 1000:.0f} / max {max(firsts) * 1000:.0f} ms; "
                f"cancel min {min(cancels) * 1000:.0f} / max {max(cancels) * 1000:.0f} ms)"
            )


if __name__ == "__main__":
    main()
