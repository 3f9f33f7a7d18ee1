"""Latency from a child's print() to the bytes arriving at an SSE client, through `trainboard run`
and the server: p50 and p99 over 2,000 prints (target: p50 < 20 ms, p99 < 100 ms).

The child prints its own wall-clock time in each line; the SSE client (another process) records when
each line arrives. Same machine, same clock.
"""

from __future__ import annotations

import base64
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from _server import running_server

PRINTS = 2000
CHILD = f"""
import time
for i in range({PRINTS}):
    print(f"tick {{i}} {{time.time():.6f}}", flush=True)
    time.sleep(0.003)
"""


def main() -> None:
    with running_server() as (url, data), tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "child.py"
        script.write_text(CHILD)
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "trainboard.cli",
                "run",
                "--name",
                "latency",
                "--url",
                url,
                "--data",
                str(data / "client"),
                "--",
                sys.executable,
                str(script),
            ],
            stdout=subprocess.DEVNULL,
        )
        run_id = None
        while run_id is None:
            runs = httpx.get(f"{url}/api/runs").json()["runs"]
            run_id = runs[0]["id"] if runs else None
            time.sleep(0.01)
        latencies: list[float] = []
        buf = b""
        with httpx.stream("GET", f"{url}/api/runs/{run_id}/logs/stream", timeout=60) as resp:
            for line in resp.iter_lines():
                if line.startswith("data: ") and not line.startswith("data: {"):
                    now = time.time()
                    buf += base64.b64decode(line[6:])
                    *complete, buf = buf.split(b"\n")
                    for row in complete:
                        parts = row.strip().split()
                        if len(parts) == 3 and parts[0] == b"tick":
                            latencies.append((now - float(parts[2])) * 1000)
                elif line.startswith("event: done"):
                    break
        proc.wait(60)
    latencies.sort()
    p50 = statistics.median(latencies)
    p99 = latencies[int(len(latencies) * 0.99) - 1]
    print(
        f"log latency over {len(latencies)} prints: p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {latencies[-1]:.1f} ms "
        "(targets: p50 < 20 ms, p99 < 100 ms)"
    )


if __name__ == "__main__":
    main()
