"""Cost of capturing a training script's terminal output.

A loop prints 200,000 lines of 80 characters; the end of every chain is /dev/null.

(a) ``trainboard run``'s PTY runner. ``plain`` is ``python loop.py > /dev/null``; ``runner`` is the same
    child under ``run_under_pty`` mirroring to /dev/null with a queue-append callback (what the CLI
    does); ``bare pty`` is the child on a pseudo-terminal drained by the tightest possible read loop,
    i.e. a terminal that renders nothing. Under a pty the child's stdout is line-buffered (one
    ``write`` per line, as in any terminal), so ``bare pty`` vs ``plain`` is the kernel's price of a
    terminal and ``runner`` vs ``bare pty`` is the runner's own cost. Rows ``flush`` make the child
    flush every line in all modes, so the syscall count is the same everywhere.
(b) In-process ``OutputCapture``: the loop runs in one process with and without capture started
    (the time includes ``stop()``, which drains); figures are µs added per printed line.

Medians of 3; ratios are taken within this run. Prints figures only; not a merge gate.
Usage: ``python bench/capture_overhead.py [--lines N]``.
"""

from __future__ import annotations

import argparse
import functools
import os
import queue
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from trainboard.sdk.pty_runner import run_under_pty

LOOP = """
import sys
line = "x" * 79
flush = sys.argv[2] == "flush"
for _ in range(int(sys.argv[1])):
    print(line, flush=flush)
"""

IN_PROCESS = """
import queue, sys, time
from trainboard.sdk.capture import OutputCapture
n, mode, flush, report = int(sys.argv[1]), sys.argv[2], sys.argv[3] == "flush", sys.argv[4]
line = "x" * 79
sink: queue.SimpleQueue[tuple[str, bytes]] = queue.SimpleQueue()
capture = OutputCapture(lambda source, chunk: sink.put((source, chunk)))
t = time.perf_counter()
if mode == "capture":
    capture.start()
for _ in range(n):
    print(line, flush=flush)
sys.stdout.flush()
capture.stop()
elapsed = time.perf_counter() - t
with open(report, "w") as f:
    f.write(repr(elapsed))
"""

REPEATS = 3


def _medians(*measures: Callable[[], float]) -> list[float]:
    """Median of REPEATS runs of each measure, run interleaved so drift hits them all alike."""
    times: list[list[float]] = [[] for _ in measures]
    for _ in range(REPEATS):
        for i, measure in enumerate(measures):
            times[i].append(measure())
    return [statistics.median(t) for t in times]


def _plain(argv: list[str]) -> float:
    t = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t


def _runner(argv: list[str]) -> float:
    sink: queue.SimpleQueue[tuple[str, bytes]] = queue.SimpleQueue()
    saved = [os.dup(1), os.dup(2)]
    devnull = os.open(os.devnull, os.O_WRONLY)
    sys.stdout.flush()
    try:
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        t = time.perf_counter()
        result = run_under_pty(argv, on_output=lambda source, chunk: sink.put((source, chunk)))
        elapsed = time.perf_counter() - t
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, devnull):
            os.close(fd)
    assert result.exit_code == 0, result
    return elapsed


def _bare_pty(argv: list[str]) -> float:
    master, slave = os.openpty()
    t = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=slave, stderr=slave, stdin=subprocess.DEVNULL)
    os.close(slave)
    try:
        while os.read(master, 65536):
            pass
    except OSError:  # EIO: the child closed the pty
        pass
    proc.wait()
    elapsed = time.perf_counter() - t
    os.close(master)
    return elapsed


def _in_process(script: Path, lines: int, mode: str, flush: str, *, terminal: bool) -> float:
    """Seconds the loop took inside the child; its stdout is /dev/null or a bare pty."""
    with tempfile.NamedTemporaryFile(suffix=".txt") as report:
        argv = [sys.executable, str(script), str(lines), mode, flush, report.name]
        if terminal:
            master, slave = os.openpty()
            proc = subprocess.Popen(argv, stdout=slave, stdin=subprocess.DEVNULL)
            os.close(slave)
            try:
                while os.read(master, 65536):
                    pass
            except OSError:
                pass
            os.close(master)
            assert proc.wait() == 0
        else:
            subprocess.run(argv, stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL, check=True)
        return float(Path(report.name).read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--lines", type=int, default=200_000)
    lines = parser.parse_args().lines
    with tempfile.TemporaryDirectory() as tmp:
        loop = Path(tmp) / "loop.py"
        loop.write_text(LOOP)
        in_process = Path(tmp) / "in_process.py"
        in_process.write_text(IN_PROCESS)

        print(f"capture overhead: {lines:,} lines of 80 chars to /dev/null, medians of {REPEATS}")
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs\n")
        print("(a) trainboard run (PTY runner), wall time of the child process")
        print(
            f"{'child prints':<14}{'plain':>9}{'bare pty':>10}{'runner':>9}"
            f"{'runner/plain':>14}{'runner/bare pty':>17}{'µs/line vs plain':>18}"
        )
        for flush in ("default", "flush"):
            argv = [sys.executable, str(loop), str(lines), flush]
            plain, bare, runner = _medians(
                functools.partial(_plain, argv),
                functools.partial(_bare_pty, argv),
                functools.partial(_runner, argv),
            )
            print(
                f"{flush:<14}{plain:>8.3f}s{bare:>9.3f}s{runner:>8.3f}s{runner / plain:>13.2f}x"
                f"{runner / bare:>16.2f}x{(runner - plain) / lines * 1e6:>17.2f}"
            )

        print("\n(b) in-process OutputCapture, time of the print loop (+ stop()) inside the script")
        print(f"{'stdout':<12}{'prints':<10}{'plain':>9}{'capture':>10}{'ratio':>8}{'µs/line added':>15}")
        for terminal, flush in ((False, "default"), (False, "flush"), (True, "default")):
            where = "terminal" if terminal else "/dev/null"
            plain, captured = _medians(
                functools.partial(_in_process, in_process, lines, "plain", flush, terminal=terminal),
                functools.partial(_in_process, in_process, lines, "capture", flush, terminal=terminal),
            )
            print(
                f"{where:<12}{flush:<10}{plain:>8.3f}s{captured:>9.3f}s{captured / plain:>7.2f}x"
                f"{(captured - plain) / lines * 1e6:>15.2f}"
            )
        print("\n'terminal': the script's stdout is a pty drained by a bare read loop to /dev/null;")
        print("the capture then puts a second pty in front of it. Targets: (a) < 1.10x, (b) <= 5 µs/line.")


if __name__ == "__main__":
    main()
