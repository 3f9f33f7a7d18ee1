"""Log export to Loki: lines per second a real ``trainboard serve`` exports to the Loki stand-in
(``tests/support/loki_standin.py``, in its own process: it parses and checks every push as Loki's API documents
it, so its own cost is in the figure), and what export costs ingest: the wall time of posting the same lines with
export off and on, as a ratio.

    .venv/bin/python bench/log_export.py [--lines 100000] [--batch 1000]
"""

from __future__ import annotations

import argparse
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1000)
    args = parser.parse_args()

    port = free_port()
    loki = subprocess.Popen([sys.executable, "-m", "tests.support.loki_standin", str(port)], cwd=ROOT)
    loki_url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                httpx.get(loki_url + "/stats", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.05)
        with tempfile.TemporaryDirectory(prefix="tb-bench-export-") as tmp:
            config = Path(tmp) / "exporters.toml"
            config.write_text(
                f'[sinks.loki]\ntype = "loki"\nendpoint = "{loki_url}"\nbatch_size = 5000\nbatch_interval = 0.2\n'
                "max_buffer = 10000000\n"
            )
            with serve_process(CLI, Path(tmp) / "off") as url:
                off = post_all(url, args.lines, args.batch)
            with serve_process(CLI, Path(tmp) / "on", "--exporters", str(config)) as url:
                started = time.perf_counter()
                on = post_all(url, args.lines, args.batch)
                while (got := httpx.get(loki_url + "/stats").json())["entries"] < args.lines:
                    if time.perf_counter() - started > 600:
                        break
                    time.sleep(0.05)
                exported_in = time.perf_counter() - started
                status = httpx.get(url + "/api/export/status").json()["sinks"][0]
    finally:
        loki.terminate()
        loki.wait(10)
    print(f"lines: {args.lines} in batches of {args.batch}")
    print(f"ingest, export off: {off:.2f} s ({args.lines / off:,.0f} lines/s)")
    print(f"ingest, export on:  {on:.2f} s ({args.lines / on:,.0f} lines/s)")
    print(f"ingest cost of export (on/off wall time): {on / off:.2f}x")
    print(
        f"exported to the Loki stand-in: {got['entries']:,} lines in {got['pushes']} pushes, "
        f"{exported_in:.2f} s from the first post ({got['entries'] / exported_in:,.0f} lines/s end to end); "
        f"refused {got['refused']}, dropped {status['dropped']}"
    )


if __name__ == "__main__":
    main()
