"""UI load time: navigation -> first painted chart, and navigation -> rendered terminal, in Debian's chromium.

Starts a real ``trainboard serve`` on a free port with a temporary data directory, fills it through the HTTP
API with one run of ``--keys`` metrics x ``--points`` steps (default 10 x 1,000,000) and one run with a
``--log-mb`` MB raw terminal log (default 100; 0 skips it), then opens each run's page ``--repeat`` times and prints the
times. Target (issue 6): under 1.5 s each.

    python bench/ui_load.py                      # the full figures (ingest takes a while)
    python bench/ui_load.py --points 100000 --log-mb 10
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

CHART_PAINTED_JS = """() => {
  const c = document.querySelector('[data-metric-key] canvas');
  const box = document.querySelector('[data-metric-key]');
  return !!c && !!box && Number(box.dataset.points) > 0 ? performance.now() : false;
}"""

TERMINAL_RENDERED_JS = """(marker) => {
  const t = window.trainboard && window.trainboard.terminal;
  if (!t) return false;
  const b = t.buffer.active;
  for (let i = b.length - 1; i >= Math.max(0, b.length - 5); i--) {
    if (b.getLine(i).translateToString(true).includes(marker)) return performance.now();
  }
  return false;
}"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(data: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "TRAINBOARD_DATA": str(data)}
    log = (data / "serve.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "trainboard.cli", "serve", "--port", str(port), "--data", str(data)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"server did not start: {(data / 'serve.log').read_text()}")


def fill_metrics(c: httpx.Client, run_id: str, keys: int, points: int, batch: int = 5000) -> float:
    t0 = time.perf_counter()
    c.post("/api/runs", json={"id": run_id, "name": f"bench-{keys}x{points}", "project": "bench"}).raise_for_status()
    now = time.time()
    stream = secrets.token_hex(6)
    seq = 0
    for start in range(0, points, batch):
        pts = []
        for step in range(start, min(points, start + batch)):
            seq += 1
            x = step / max(1, points)
            pts.append(
                {
                    "seq": seq,
                    "step": step,
                    "timestamp": now - points + step,
                    "metrics": {f"m{k}": (1 + k) * (1 - x) + 0.01 * ((step * 7919 + k) % 97) for k in range(keys)},
                }
            )
        body = json.dumps({"stream": stream, "points": pts}).encode()
        c.post(
            f"/api/runs/{run_id}/metrics", content=body, headers={"Content-Type": "application/json"}
        ).raise_for_status()
    c.put(f"/api/runs/{run_id}", json={"status": "completed", "exit_code": 0}).raise_for_status()
    return time.perf_counter() - t0


def fill_log(c: httpx.Client, run_id: str, megabytes: int, marker: str) -> float:
    """``megabytes`` MB of terminal output (coloured lines and tqdm-style redraws) through POST /logs/raw."""
    t0 = time.perf_counter()
    c.post("/api/runs", json={"id": run_id, "name": f"bench-log-{megabytes}MB", "project": "bench"}).raise_for_status()
    stream = secrets.token_hex(6)
    line = b"\x1b[32mINFO\x1b[0m step %08d loss=0.12345 lr=3.0e-04 " + b"x" * 40 + b"\r\n"
    target = megabytes * 1024 * 1024
    written = 0
    seq = 0
    n = 0
    chunk_size = 1024 * 1024
    while written < target:
        buf = bytearray()
        while len(buf) < chunk_size and written + len(buf) < target:
            buf += line % n
            n += 1
        if written + len(buf) >= target:
            buf += marker.encode() + b"\r\n"
        seq += 1
        chunk = {"seq": seq, "source": "stdout", "time": time.time(), "data": base64.b64encode(bytes(buf)).decode()}
        c.post(f"/api/runs/{run_id}/logs/raw", json={"stream": stream, "chunks": [chunk]}).raise_for_status()
        written += len(buf)
    c.put(f"/api/runs/{run_id}", json={"status": "completed", "exit_code": 0}).raise_for_status()
    return time.perf_counter() - t0


def measure(browser: Any, url: str, js: str, arg: Any, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        ctx = browser.new_context(viewport={"width": 1600, "height": 1000})
        page = ctx.new_page()
        page.goto(url, wait_until="commit")
        handle = page.wait_for_function(js, arg=arg, timeout=60_000, polling="raf")
        out.append(float(handle.json_value()) / 1000)
        ctx.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--keys", type=int, default=10)
    ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument("--log-mb", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    args = ap.parse_args()
    if not (ROOT / "src/trainboard/server/static/index.html").is_file():
        raise SystemExit("build the UI first: (cd web && npm ci && npm run build)")
    from playwright.sync_api import sync_playwright

    data = Path(tempfile.mkdtemp(prefix="tb-bench-ui-"))
    proc, url = start_server(data)
    try:
        with httpx.Client(base_url=url, timeout=120) as c:
            t_m = fill_metrics(c, "bench-metrics", args.keys, args.points)
            print(f"ingest: {args.keys} keys x {args.points:,} steps in {t_m:.1f} s")
            marker = "END-OF-BENCH-LOG"
            if args.log_mb > 0:
                t_l = fill_log(c, "bench-log", args.log_mb, marker)
                print(f"ingest: {args.log_mb} MB raw log in {t_l:.1f} s")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)
            chart = measure(browser, f"{url}/runs/bench-metrics", CHART_PAINTED_JS, None, args.repeat)
            term = (
                measure(browser, f"{url}/runs/bench-log", TERMINAL_RENDERED_JS, marker, args.repeat)
                if args.log_mb > 0
                else []
            )
            browser.close()
        for label, xs in (
            (f"first painted chart ({args.keys} x {args.points:,} points)", chart),
            (f"terminal rendered ({args.log_mb} MB log)", term),
        ):
            if not xs:
                continue
            print(
                f"{label}: median {statistics.median(xs):.3f} s, min {min(xs):.3f} s, max {max(xs):.3f} s "
                f"over {len(xs)} loads (target < 1.5 s)"
            )
    finally:
        proc.terminate()
        proc.wait(15)
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
