"""Terminal output upload: how fast redraw-heavy output (tqdm at ``mininterval=0``) becomes durable on the
server (SQLite), and how long ``trainboard run`` takes after a program's last byte (issue 22).

1. SDK throughput: a process calls ``monitor.log_output`` once per progress-bar redraw (~100 bytes each, as
   tqdm writes them) for ``--mb`` MB, then ``flush()``; printed: MB/s from the first byte to the server's
   acknowledgement of the last (the server acknowledges after its commit).
2. ``trainboard run``: a program prints ``--tail-mb`` MB of redraws to its terminal; printed: its bare time,
   the time under ``trainboard run`` (and the ratio), and the tail: from the program's last byte to
   ``trainboard run``'s exit, with all bytes on the server; the same for a tqdm script (5,000 steps and a
   nested bar at ``mininterval=0``, the issue's case). ``trainboard run`` itself costs ~0.4 s to start.
4. Overhead (``--parts overhead``): a ~1 s tqdm script (100 steps of 10 ms, the default ``mininterval``) bare and
   under ``trainboard run``, best of ``--reps`` each, alternating, and the ratio (issue 22's target: <= 1.2x);
   and ``trainboard run -- true``. Every Python process here runs with its bytecode cached (in a temporary
   ``PYTHONPYCACHEPREFIX``, warmed first), as an installed package has it: with ``PYTHONDONTWRITEBYTECODE`` set
   every start would compile the whole import tree again and measure that instead.

3. Server cost: requests of ~1 MB (16 chunks of 64 KB, as the SDK sends a backlog) of ~100-byte redraws,
   of two nested tqdm bars (``\\n``, a redraw, ``ESC[A``, a redraw) and of plain lines; printed: the server
   process's CPU time per MB (user + system, so other load on the machine does not count) and the time per
   request as the client sees it.

``--against REV`` runs every part with the code of a git revision as well (its ``src`` exported to a temporary
directory and put first on ``PYTHONPATH``, for the server and for ``trainboard run``), one after the other in the
same run, so the two sets of figures are taken under the same load.

Run: ``.venv/bin/python bench/terminal_upload.py [--mb 20] [--tail-mb 5] [--parts server,sdk,run] [--against
REV]``; start a CPU burner beside it (``python -c 'while True: pass' &``) for the busy-machine figures.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil

from _server import CLI, env_with_code, revision_src, served

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


def redraw_chunk(size: int, first: int) -> bytes:
    """~100-byte redraws of one bar, `size` bytes, from step `first` on."""
    out = []
    for i in range(first, first + size // 100):
        pct = i * 100 // 1_000_000
        out.append(f"\rsteps: {pct:3d}%|{'#' * (pct // 5):<20}| {i}/1000000 [00:01<00:02, 4321.00it/s]".ljust(100))
    return "".join(out).encode()


def nested_chunk(size: int, first: int) -> bytes:
    """Redraws of two tqdm bars (`position=1`): the inner one a row below the outer one, as tqdm moves there."""
    out = []
    n = 0
    i = first
    while n < size:
        inner = f"\n\rblock {i // 500}: {i % 500 * 100 // 500:3d}%|{'#' * (i % 500 // 50):<10}| {i % 500}/500\x1b[A"
        outer = f"\rsteps: {i * 100 // 1_000_000:3d}%|{'#' * (i // 100_000):<10}| {i}/1000000 [00:01<00:02]"
        out.append(inner + outer)
        n += len(out[-1])
        i += 1
    return "".join(out).encode()


def plain_chunk(size: int, first: int) -> bytes:
    """~100-byte `print` lines."""
    out = []
    n = 0
    i = first
    while n < size:
        out.append(
            f"epoch {i // 1000:4d} step {i:8d} loss {1 / (i + 1):.6f} lr 3.000e-04 tokens/s {12345.6 + i:10.1f} ok\n"
        )
        n += len(out[-1])
        i += 1
    return "".join(out).encode()


ONE_SECOND_TQDM = r"""
import time
from tqdm import tqdm
for _ in tqdm(range(100), desc="train"):
    time.sleep(0.01)
print("done", flush=True)
"""


def with_bytecode(env: dict[str, str], cache: Path) -> dict[str, str]:
    """``env`` with bytecode written and read (to ``cache``), as an installed package has it."""
    out = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}
    out["PYTHONPYCACHEPREFIX"] = str(cache)
    return out


def run_overhead(label: str, env: dict[str, str], url: str, tmp: Path, reps: int) -> None:
    """A ~1 s tqdm script bare and under ``trainboard run`` (best of ``reps``, alternating), and ``run -- true``."""
    env = with_bytecode(dict(env, TRAINBOARD_URL=url, TRAINBOARD_DATA=str(tmp / f"overhead-{label}")), tmp / "pyc")
    script = tmp / "one_second.py"
    script.write_text(ONE_SECOND_TQDM)
    bare_argv = [sys.executable, str(script)]
    under_argv = [*CLI, "run", "--", *bare_argv]
    true_argv = [*CLI, "run", "--", "true"]

    def timed(argv: list[str]) -> float:
        t0 = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, timeout=300, check=True)
        return time.perf_counter() - t0

    for argv in (bare_argv, under_argv):  # warm the bytecode cache and the page cache
        timed(argv)
    bare, under, true = [], [], []
    for _ in range(reps):
        bare.append(timed(bare_argv))
        under.append(timed(under_argv))
        true.append(timed(true_argv))
    print(
        f"overhead [{label}], ~1 s tqdm script: bare {min(bare):.3f} s, under trainboard run {min(under):.3f} s "
        f"= {min(under) / min(bare):.2f}x (best of {reps}; medians {sorted(bare)[reps // 2]:.3f} / "
        f"{sorted(under)[reps // 2]:.3f} s); trainboard run -- true {min(true):.3f} s"
    )


WORKLOADS = {"redraws": redraw_chunk, "nested bars": nested_chunk, "plain lines": plain_chunk}


@contextlib.contextmanager
def serve(data: Path, env: dict[str, str]) -> Iterator[tuple[str, psutil.Process]]:
    """(url, process) of ``trainboard serve`` on a free port, with `env` (``PYTHONPATH`` picks the code)."""
    with served(CLI, data, wait=60, env=env) as (url, proc):
        yield url, psutil.Process(proc.pid)


def server_cost(label: str, env: dict[str, str], tmp: Path, requests: int) -> None:
    """Server CPU per MB of terminal output for each workload, uploaded as ~1 MB requests of 64 KB chunks."""
    with serve(tmp / f"server-{label}", env) as (url, proc), httpx.Client(timeout=120) as client:
        for name, make in WORKLOADS.items():
            run = client.post(f"{url}/api/runs", json={"name": f"cost {name}"}).json()["id"]
            bodies: list[bytes] = []
            seq = step = total = 0
            for _ in range(requests):
                chunks: list[dict[str, object]] = []
                for _ in range(16):
                    data = make(64_000, step)
                    step += len(data) // 100
                    seq += 1
                    total += len(data)
                    encoded = base64.b64encode(data).decode()
                    chunks.append({"seq": seq, "source": "stderr", "time": time.time(), "data": encoded})
                bodies.append(json.dumps({"stream": "bench", "chunks": chunks}, separators=(",", ":")).encode())
            cpu0 = sum(proc.cpu_times()[:2])
            t0 = time.perf_counter()
            for body in bodies:
                resp = client.post(
                    f"{url}/api/runs/{run}/logs/raw", content=body, headers={"content-type": "application/json"}
                )
                resp.raise_for_status()
            wall = time.perf_counter() - t0
            cpu = sum(proc.cpu_times()[:2]) - cpu0
            print(
                f"server cost [{label}], {name}: {cpu / total * 1e9:.1f} ms CPU per MB, "
                f"{wall / requests * 1e3:.1f} ms per ~1 MB request ({requests} requests, {total / 1e6:.1f} MB)"
            )


def sdk_throughput(label: str, env: dict[str, str], url: str, tmp: Path, mb: float) -> None:
    out = subprocess.run(
        [sys.executable, "-c", SDK_PRODUCER, url, str(tmp / f"sdk-client-{label}"), str(mb)],
        capture_output=True,
        text=True,
        timeout=900,
        check=True,
        env=env,
    )
    r = json.loads(out.stdout.strip().splitlines()[-1])
    stored = int(httpx.get(f"{url}/api/runs/{r['run']}", timeout=30).json().get("log_size", 0) or 0)
    mbs = r["bytes"] / r["durable_s"] / 1e6
    print(
        f"SDK log_output [{label}], {r['bytes'] / 1e6:.0f} MB of ~100-byte redraws: written in {r['written_s']:.2f} s, "
        f"durable on the server in {r['durable_s']:.2f} s = {mbs:.1f} MB/s durable (SQLite); "
        f"all acknowledged: {r['ok']}, server log_size {stored}"
    )


def run_start(label: str, env: dict[str, str], url: str, tmp: Path, reps: int = 5) -> None:
    """``trainboard run -- true``: the fixed cost of the wrapper (best of `reps`)."""
    env = dict(env, TRAINBOARD_URL=url, TRAINBOARD_DATA=str(tmp / f"start-client-{label}"))
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        subprocess.run([*CLI, "run", "--", "true"], stdout=subprocess.DEVNULL, env=env, timeout=120, check=True)
        times.append(time.perf_counter() - t0)
    median = sorted(times)[reps // 2]
    print(f"trainboard run -- true [{label}]: {min(times):.3f} s (best of {reps}), median {median:.3f} s")


def run_tail(label: str, env: dict[str, str], url: str, tmp: Path, what: str, program: str, *args: str) -> None:
    script = tmp / "program.py"
    script.write_text(program)
    stamp = tmp / "last-byte"
    argv = [sys.executable, str(script), *args, str(stamp)]
    t0 = time.perf_counter()
    subprocess.run(argv, stderr=subprocess.DEVNULL, check=True, timeout=900)
    bare = time.perf_counter() - t0
    env = dict(env, TRAINBOARD_URL=url, TRAINBOARD_DATA=str(tmp / f"run-client-{label}"))
    t0 = time.perf_counter()
    done = subprocess.run(
        [*CLI, "run", "--", *argv],
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
        f"trainboard run [{label}], {what}: bare {bare:.2f} s, under trainboard run {under:.2f} s "
        f"({under / bare:.2f}x); tail after the program's last byte {tail:.2f} s; stored {stored} bytes"
        + (f"; notices: {notes}" if notes else "")
    )


@contextlib.contextmanager
def variants(against: str | None) -> Iterator[list[tuple[str, dict[str, str]]]]:
    """(label, environment) of this tree's code and, with `against`, of that git revision's ``src``."""
    out = [("this tree", dict(os.environ))]
    if not against:
        yield out
        return
    with revision_src(against) as src:
        yield [(against, env_with_code(src)), *out]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=float, default=20.0, help="MB for the SDK throughput figure")
    parser.add_argument("--tail-mb", type=float, default=5.0, help="MB for the trainboard run figure")
    parser.add_argument("--requests", type=int, default=20, help="~1 MB requests per workload for the server cost")
    parser.add_argument(
        "--parts", default="server,sdk,run", help="which figures: server, sdk, run, overhead (comma-separated)"
    )
    parser.add_argument("--reps", type=int, default=5, help="repetitions of each overhead timing (best is printed)")
    parser.add_argument("--against", metavar="REV", help="also run every part with the code of this git revision")
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    print(f"cpus: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f}")
    with variants(args.against) as codes, tempfile.TemporaryDirectory(prefix="tb-upload-") as tmp:
        if "server" in parts:
            for label, env in codes:
                server_cost(label, env, Path(tmp), args.requests)
        for label, env in codes:
            if not parts & {"sdk", "run", "overhead"}:
                break
            with serve(Path(tmp) / f"data-{label}", env) as (url, _proc):
                if "sdk" in parts:
                    sdk_throughput(label, env, url, Path(tmp), args.mb)
                if "overhead" in parts:
                    run_overhead(label, env, url, Path(tmp), args.reps)
                if "run" in parts:
                    run_start(label, env, url, Path(tmp))
                    what = f"{args.tail_mb:g} MB of redraws"
                    run_tail(label, env, url, Path(tmp), what, PROGRAM, str(args.tail_mb))
                    what = "tqdm 5,000 steps + nested bar (mininterval=0)"
                    run_tail(label, env, url, Path(tmp), what, TQDM_PROGRAM)


if __name__ == "__main__":
    main()
