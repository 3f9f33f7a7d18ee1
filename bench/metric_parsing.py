"""Cost of "metrics without code": the printed-metrics recogniser and its price inside ``trainboard run``.

(a) Throughput of :class:`~trainboard.sdk.metric_parsing.MetricParser` in MB/s of output, fed 64 KiB chunks, on
    output without metrics (80-character lines), HF Trainer log dicts, ``step=N loss=... lr=...`` lines and a
    tqdm bar redrawn with ``\\r`` (its postfix names no step, so it gives no points: a bar's values count only at a
    step it names), and the same bar with ``step=N`` in its postfix.
(b) ``trainboard run`` on capture_overhead.py's loop printing 200,000 lines, with parsing (the default) and with
    ``--no-parse-metrics``; once with 80-character lines that hold no metric, once with lines that are all
    ``step=N loss=... lr=...`` (200,000 points parsed and sent). The server is unreachable on purpose (the run is
    spooled: both modes spool the same output), system sampling is off; stdout goes to /dev/null.

Medians of 3, interleaved; ratios within this run. Prints figures only; not a merge gate.
Usage: ``python bench/metric_parsing.py [--lines N]``.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from trainboard.sdk.metric_parsing import MetricParser

REPEATS = 3
CHUNK = 65536

LOOP = """
import sys
n, kind = int(sys.argv[1]), sys.argv[2]
line = "x" * 79
for i in range(n):
    print(line if kind == "plain" else f"step={i} loss={1 / (i + 1):.6f} lr=0.001")
"""


def corpora(lines: int) -> dict[str, bytes]:
    hf = "".join(
        f"{{'loss': '{1 / (i + 1):.4g}', 'grad_norm': '1.234', 'learning_rate': '5e-05', 'epoch': '{i / 100:.2f}'}}\r\n"
        for i in range(lines)
    )

    def bar(postfix: str) -> str:
        return "".join(
            f"\r{i % 100:3d}%|{'#' * (i % 10):10s}| {i}/{lines} [00:01<00:02, 30.0it/s, {postfix.format(i=i)}"
            f"loss={1 / (i + 1):.3f}]" + ("\n" if i % 1000 == 999 else "")
            for i in range(lines)
        )

    return {
        "no metrics (80-char lines)": ("x" * 79 + "\r\n").encode() * lines,
        "HF Trainer dicts": hf.encode(),
        "step=N key=value lines": "".join(
            f"step={i} loss={1 / (i + 1):.6f} lr=0.001\r\n" for i in range(lines)
        ).encode(),
        "tqdm redraws, postfix": bar("").encode(),
        "tqdm redraws, postfix step=N": bar("step={i}, ").encode(),
    }


def throughput(data: bytes) -> tuple[float, int]:
    parser = MetricParser()
    found = 0
    t = time.perf_counter()
    for i in range(0, len(data), CHUNK):
        found += len(parser.feed(data[i : i + CHUNK]))
    found += len(parser.finish())
    return time.perf_counter() - t, found


def run_once(script: Path, lines: int, kind: str, parse: bool, data: Path) -> float:
    cmd = [sys.executable, "-m", "trainboard.cli", "run", "--url", "http://127.0.0.1:9", "--data", str(data)]
    cmd += ["--system-interval", "0", "--flush-timeout", "0", "--merge-stderr"]
    if not parse:
        cmd.append("--no-parse-metrics")
    cmd += ["--", sys.executable, str(script), str(lines), kind]
    t = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lines", type=int, default=200_000)
    n = ap.parse_args().lines

    print(f"(a) MetricParser throughput, {n:,} lines each, {CHUNK // 1024} KiB chunks")
    for name, data in corpora(n).items():
        seconds, found = statistics.median(throughput(data)[0] for _ in range(REPEATS)), throughput(data)[1]
        print(f"  {name:28s} {len(data) / seconds / 1e6:7.1f} MB/s  ({len(data) / 1e6:.1f} MB, {found:,} points)")

    print(f"(b) trainboard run, {n:,} printed lines (median of {REPEATS}, interleaved)")
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "loop.py"
        script.write_text(LOOP)
        for kind in ("plain", "metrics"):
            times: dict[bool, list[float]] = {True: [], False: []}
            for i in range(REPEATS):
                for parse in (False, True):
                    times[parse].append(run_once(script, n, kind, parse, Path(tmp) / f"data-{kind}-{parse}-{i}"))
            off, on = statistics.median(times[False]), statistics.median(times[True])
            label = "80-char lines, no metrics" if kind == "plain" else "step=N loss= lr= on every line"
            print(f"  {label:32s} --no-parse-metrics {off:6.2f} s   parsing {on:6.2f} s   ratio {on / off:5.2f}")


if __name__ == "__main__":
    main()
