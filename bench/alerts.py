"""Alert figures on a real server: rule evaluation's cost on ingest, and commit -> webhook latency.

1. Ingest cost: the same metric load (``--runs`` runs x ``--batches`` batches of 10 steps x 5 keys, sent by 8
   client threads) on one server, first with no rules, then with ``--rules`` project rules (thresholds, NaN,
   change, divergence, plateau, throughput that never fire) on a fresh set of runs. Goal: ratio <= 1.1.
2. Latency: a NaN rule with a ``json://`` channel to a local receiver; ``--alerts`` times a run's probe metric
   goes NaN (and back), each the start of a new episode; from the answer to the POST (the point is committed)
   to the FIRING request received. Goal: p99 <= 2 s.

    .venv/bin/python bench/alerts.py [--runs 100] [--batches 20] [--rules 100] [--alerts 40]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from _server import CLI, free_port, served

HEADERS = {"X-Trainboard": "1"}
KEYS = ("loss", "acc", "lr", "grad_norm", "tokens")


def ingest(url: str, project: str, runs: int, batches: int) -> float:
    """Seconds to send the load (every POST answered, so every point committed)."""
    with httpx.Client(base_url=url, headers=HEADERS, timeout=60) as http:
        ids = [http.post("/api/runs", json={"name": f"r{i}", "project": project}).json()["id"] for i in range(runs)]

    def one_run(run_id: str) -> None:
        with httpx.Client(base_url=url, headers=HEADERS, timeout=60) as http:
            for b in range(batches):
                points = [
                    {"step": b * 10 + s, "metrics": {k: 1.0 / (1 + b * 10 + s) + i for i, k in enumerate(KEYS)}}
                    for s in range(10)
                ]
                resp = http.post(f"/api/runs/{run_id}/metrics", json={"points": points})
                resp.raise_for_status()

    start = time.perf_counter()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(one_run, ids))
    return time.perf_counter() - start


def add_rules(url: str, project: str, n: int) -> None:
    kinds: list[dict[str, Any]] = [
        {"kind": "threshold", "key": "loss", "value": 1e9},
        {"kind": "nan", "key": "acc"},
        {"kind": "change", "key": "lr", "z": 1000},
        {"kind": "divergence", "key": "grad_norm", "factor": 1e6},
        {"kind": "plateau", "key": "tokens", "steps": 10**9},
        {"kind": "throughput", "drop_percent": 99.9},
    ]
    with httpx.Client(base_url=url, headers=HEADERS, timeout=60) as http:
        for i in range(n):
            body = {"name": f"rule {i}", "project": project, "condition": kinds[i % len(kinds)]}
            http.post("/api/alert-rules", json=body).raise_for_status()


def latency(url: str, samples: int) -> list[float]:
    received: dict[int, float] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
            if "FIRING" in body.get("title", ""):
                step = int(body["message"].split("at step ")[1].split()[0].replace(",", ""))
                received.setdefault(step, time.time())
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    port = free_port()
    receiver = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    sent: dict[int, float] = {}
    with httpx.Client(base_url=url, headers=HEADERS, timeout=60) as http:
        rule = {"name": "probe", "project": "latency", "condition": {"kind": "nan", "key": "probe"}}
        http.post("/api/alert-rules", json={**rule, "channels": [f"json://127.0.0.1:{port}/hook"]}).raise_for_status()
        run_id = http.post("/api/runs", json={"name": "probe", "project": "latency"}).json()["id"]
        for i in range(samples):
            step = 2 * i + 1
            http.post(f"/api/runs/{run_id}/metrics", json={"points": [{"step": step, "metrics": {"probe": "NaN"}}]})
            sent[step] = time.time()
            deadline = time.monotonic() + 10
            while step not in received and time.monotonic() < deadline:
                time.sleep(0.005)
            http.post(f"/api/runs/{run_id}/metrics", json={"points": [{"step": step + 1, "metrics": {"probe": 1}}]})
    receiver.shutdown()
    missing = [s for s in sent if s not in received]
    if missing:
        print(f"  {len(missing)} of {len(sent)} alerts not received within 10 s (counted as 10 s)")
    return sorted(received.get(s, sent[s] + 10) - sent[s] for s in sent)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--rules", type=int, default=100)
    parser.add_argument("--alerts", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tb-bench-") as tmp, served(CLI, Path(tmp), wait=120) as (url, _p):
        points = args.runs * args.batches * 10 * len(KEYS)
        ingest(url, "warmup", 4, 5)
        bare = ingest(url, "bare", args.runs, args.batches)
        add_rules(url, "ruled", args.rules)
        time.sleep(3)  # every process's engine has reloaded its rules
        ruled = ingest(url, "ruled", args.runs, args.batches)
        print(f"ingest of {points:,} points on {args.runs} runs (8 clients):")
        print(f"  no rules          {bare:7.2f} s  ({points / bare:,.0f} points/s)")
        print(f"  {args.rules} project rules  {ruled:7.2f} s  ({points / ruled:,.0f} points/s)")
        print(f"  ratio {ruled / bare:.2f}x (goal <= 1.1x)")
        lat = latency(url, args.alerts)
        p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
        print(
            f"commit -> webhook received, {len(lat)} alerts: p50 {statistics.median(lat) * 1000:.0f} ms, "
            f"p99 {p99 * 1000:.0f} ms, max {lat[-1] * 1000:.0f} ms (goal p99 <= 2 s)"
        )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
