"""Terminal output upload: how fast redraw-heavy output (tqdm at ``mininterval=0``) becomes durable on the
server (SQLite), and how long ``trainboard run`` takes after a program's last byte (issue 22).

1. SDK throughput: a process calls ``monitor.log_output`` once per progress-bar redraw (~100 bytes each, as
   tqdm writes them) for ``--mb`` MB, then ``flush()``; printed: MB/s from the first byte to the server's
   acknowledgement of the last (the server acknowledges after its commit).
2. ``trainboard run``: a program prints ``--tail-mb`` MB of redraws to its terminal; printed: its bare time,
   the time under ``trainboard run`` (and the ratio), and the tail: from the program's last byte to
   ``trainboard run``'s exit, with all bytes on the server; the same for a tqdm script (5,000 steps and a
   nested bar at ``mininterval=0``, the issue's case). ``trainboard run`` itself costs ~0.4 s to start.

Run: ``.venv/bin/python bench/terminal_upload.py [--mb 20] [--tail-mb 5]``; start a CPU burner beside it
(``python -c 'while True: pass' &``) for the busy-machine figures.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from _server import running_server

SDK_PRODUCER = r"""
import json, sys, time
from trainboard import TrainingMonitor
url, data, total = sys.argv[1], sys.argv[2], int(float(sys.argv[3]) * 1e6)
mon = TrainingMonitor("upload-bench", dashboard_url=url, data_dir=data, capture_output=False,
                      system_metrics=False, flush_timeout=60)
assert mon.flush(60)
steps = total // 100
t0 = time.perf_counter()
for i in range(steps):
    pct = i * 100 // steps
    bar = f"\rsteps: {pct:3d}%|{'#' * (pct // 5):<20}| {i}/{steps} [00:01<00:02, 4321.00it/s]"
    mon.log_output(bar.ljust(100).encode())
written = time.perf_counter() - t0
ok = mon.flush(600)
durable = time.perf_counter() - t0
mon.finish()
print(json.dumps({"ok": ok, "bytes": steps * 100, "written_s": written, "durable_s": durable, "run": mon.run_id}))
"""

PROGRAM = r"""
import sys, time
total = int(float(sys.argv[1]) * 1e6)
steps = total // 100
for i in range(steps):
    pct = i * 100 // steps
    bar = f"\rsteps: {pct:3d}%|{'#' * (pct // 5):<20}| {i}/{steps} [00:01<00:02, 4321.00it/s]"
    sys.stderr.write(bar.ljust(100))
    sys.stderr.flush()
sys.stderr.write("\ndone\n")
sys.stderr.flush()
with open(sys.argv[2], "w") as fh:
    fh.write(repr(time.time()))
"""

TQDM_PROGRAM = r"""
import sys, time
from tqdm import tqdm
outer = tqdm(total=5000, desc="steps", mininterval=0, file=sys.stderr)
for block in range(10):
    for _ in tqdm(range(500), desc=f"block {block}", mininterval=0, leave=False, position=1, file=sys.stderr):
        outer.update(1)
outer.close()
print("done", file=sys.stderr, flush=True)
with open(sys.argv[1], "w") as fh:
    fh.write(repr(time.time()))
"""


def sdk_throughput(url: str, tmp: Path, mb: float) -> None:
    out = subprocess.run(
        [sys.executable, "-c", SDK_PRODUCER, url, str(tmp / "sdk-client"), str(mb)],
        capture_output=True,
        text=True,
        timeout=900,
        check=True,
    )
    r = json.loads(out.stdout.strip().splitlines()[-1])
    stored = int(httpx.get(f"{url}/api/runs/{r['run']}", timeout=30).json().get("log_size", 0) or 0)
    mbs = r["bytes"] / r["durable_s"] / 1e6
    print(
        f"SDK log_output, {r['bytes'] / 1e6:.0f} MB of ~100-byte redraws: written in {r['written_s']:.2f} s, "
        f"durable on the server in {r['durable_s']:.2f} s = {mbs:.1f} MB/s durable (SQLite); "
        f"all acknowledged: {r['ok']}, server log_size {stored}"
    )


def run_tail(url: str, tmp: Path, label: str, program: str, *args: str) -> None:
    script = tmp / "program.py"
    script.write_text(program)
    stamp = tmp / "last-byte"
    argv = [sys.executable, str(script), *args, str(stamp)]
    t0 = time.perf_counter()
    subprocess.run(argv, stderr=subprocess.DEVNULL, check=True, timeout=900)
    bare = time.perf_counter() - t0
    env = dict(os.environ, TRAINBOARD_URL=url, TRAINBOARD_DATA=str(tmp / "run-client"))
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "trainboard.cli", "run", "--", *argv],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
        timeout=900,
    )
    under = time.perf_counter() - t0
    tail = time.time() - float(stamp.read_text())
    run = httpx.get(f"{url}/api/runs", timeout=30).json()["runs"][0]
    stored = len(httpx.get(f"{url}/api/runs/{run['id']}/logs", timeout=120).content)
    notes = [line for line in done.stderr.decode(errors="replace").splitlines() if line.startswith("trainboard:")]
    print(
        f"trainboard run, {label}: bare {bare:.2f} s, under trainboard run {under:.2f} s "
        f"({under / bare:.2f}x); tail after the program's last byte {tail:.2f} s; stored {stored} bytes"
        + (f"; notices: {notes}" if notes else "")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=float, default=20.0, help="MB for the SDK throughput figure")
    parser.add_argument("--tail-mb", type=float, default=5.0, help="MB for the trainboard run figure")
    args = parser.parse_args()
    print(f"cpus: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f}")
    with running_server() as (url, _data), tempfile.TemporaryDirectory(prefix="tb-upload-") as tmp:
        sdk_throughput(url, Path(tmp), args.mb)
        run_tail(url, Path(tmp), f"{args.tail_mb:g} MB of redraws", PROGRAM, str(args.tail_mb))
        run_tail(url, Path(tmp), "tqdm 5,000 steps + nested bar (mininterval=0)", TQDM_PROGRAM)


if __name__ == "__main__":
    main()
