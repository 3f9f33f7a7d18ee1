"""Throughput of the log-line indexer (`trainboard.server.loglines.LineSplitter`); prints figures.

Streams fed in 64 KiB chunks as the capture delivers them:
  (a) plain `print` lines, (b) one tqdm-like bar redrawn with `\\r`, (b') two nested tqdm bars
  (`position=1`), (c) coloured log lines.
Each is also run through pyte (Stream + Screen, LNM mode; only the emulation, no line extraction,
so this favours pyte) on a slice, and through a bare `bytes.split(b"\\n")` as the floor to compare with
(ratios, not absolute times, are what to look at).

``--against REV`` measures the LineSplitter of a git revision too (its ``src`` exported to a temporary
directory, in a process of its own, run in turn with this tree's, best of ``--reps``) and prints MB/s side by side.

    python bench/line_indexing.py [--lines 1000000] [--pyte-bytes 2000000] [--against REV [--reps 3]]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable

from _server import env_with_code, revision_src
from trainboard.server.loglines import LineSplitter

CHUNK = 65536


def plain_stream(lines: int) -> bytes:
    """~100-byte `print` lines."""
    return b"".join(
        b"epoch %4d step %8d loss %.6f lr %.3e grad_norm %.4f tokens/s %10.1f samples %8d ok\n"
        % (i // 1000, i, 1.0 / (i + 1), 3e-4, 0.5 + (i % 7) / 10, 12345.6 + i, i * 32)
        for i in range(lines)
    )


def tqdm_stream(updates: int) -> bytes:
    """One bar redrawn `updates` times with `\\r`, as tqdm writes it, then its final newline."""
    parts = []
    for i in range(updates + 1):
        pct = 100 * i // updates
        filled = pct // 10
        bar = "#" * filled + " " * (10 - filled)
        parts.append(f"\r{pct:3d}%|{bar}| {i}/{updates} [00:{i % 60:02d}<00:00, {1000 + i % 97:.2f}it/s]")
    parts.append("\n")
    return "".join(parts).encode()


def nested_stream(updates: int) -> bytes:
    """Two bars as tqdm draws a nested one (`position=1`): the inner one a row down, then back up to the outer."""
    parts = []
    for i in range(updates):
        inner = f"\n\rblock {i // 500}: {i % 500 * 100 // 500:3d}%|{'#' * (i % 500 // 50):<10}| {i % 500}/500\x1b[A"
        parts.append(inner + f"\rsteps: {100 * i // updates:3d}%|{'#' * (10 * i // updates):<10}| {i}/{updates}")
    parts.append("\n\n")
    return "".join(parts).encode()


def coloured_stream(lines: int) -> bytes:
    """Logging lines with a coloured level and timestamp (rich/loguru style)."""
    levels = [b"\x1b[32mINFO\x1b[0m    ", b"\x1b[33mWARNING\x1b[0m ", b"\x1b[1;31mERROR\x1b[0m   "]
    return b"".join(
        b"\x1b[2m2024-01-01 12:00:%02d\x1b[0m | %s | \x1b[36mtrainer\x1b[0m:step:%d - loss %.5f\n"
        % (i % 60, levels[0 if i % 50 else (1 if i % 100 else 2)], i, 1.0 / (i + 1))
        for i in range(lines)
    )


def run_splitter(data: bytes) -> int:
    splitter = LineSplitter()
    count = 0
    for start in range(0, len(data), CHUNK):
        count += len(splitter.feed(data[start : start + CHUNK], float(start)))
    return count + len(splitter.flush())


def run_split(data: bytes) -> int:
    return len(data.split(b"\n"))


def run_pyte(data: bytes) -> int:
    import pyte

    screen = pyte.Screen(200, 50)
    screen.set_mode(pyte.modes.LNM)
    stream = pyte.ByteStream(screen)
    for start in range(0, len(data), CHUNK):
        stream.feed(data[start : start + CHUNK])
    return 0


def measure(name: str, data: bytes, fn: Callable[[bytes], int], unit: str, units: int) -> float:
    """Run `fn` over `data`; print MB/s and `unit`s per second (`units` of them in `data`)."""
    t0 = time.perf_counter()
    lines = fn(data)
    elapsed = time.perf_counter() - t0
    mb_s = len(data) / elapsed / 1e6
    rate = f"  {units / elapsed:>12,.0f} {unit}/s"
    got = f"  -> {lines:,} lines" if lines else ""
    print(f"  {name:<24} {len(data) / 1e6:7.1f} MB {elapsed:7.3f} s {mb_s:7.1f} MB/s{rate}{got}")
    return mb_s


def streams(lines: int, updates: int) -> list[tuple[str, bytes, str, int]]:
    return [
        ("(a) plain print lines", plain_stream(lines), "lines", lines),
        ("(a') the same through a pty (\\r\\n)", plain_stream(lines).replace(b"\n", b"\r\n"), "lines", lines),
        ("(b) tqdm \\r redraws", tqdm_stream(updates), "redraws", updates),
        ("(b') two nested tqdm bars", nested_stream(updates // 2), "redraws", updates // 2 * 2),
        ("(c) coloured lines", coloured_stream(lines), "lines", lines),
    ]


def splitter_only(lines: int, updates: int, reps: int) -> None:
    """Print {stream title: best MB/s of `reps`} as JSON (run in a process per revision by `against`)."""
    best: dict[str, float] = {}
    for title, data, _unit, _units in streams(lines, updates):
        times = []
        for _ in range(reps):
            t0 = time.perf_counter()
            run_splitter(data)
            times.append(time.perf_counter() - t0)
        best[title] = len(data) / min(times) / 1e6
    print(json.dumps(best))


def against(rev: str, lines: int, updates: int, reps: int) -> None:
    """MB/s of `rev`'s LineSplitter and of this tree's, each stream in turn in processes of their own."""
    with revision_src(rev) as src:
        argv = [sys.executable, __file__, "--splitter-only", "--lines", str(lines), "--updates", str(updates)]
        argv += ["--reps", str(reps)]
        results = {}
        for label, env in ((rev, env_with_code(src)), ("this tree", dict(os.environ))):
            out = subprocess.run(argv, env=env, capture_output=True, text=True, check=True).stdout
            results[label] = json.loads(out.strip().splitlines()[-1])
    print(f"LineSplitter MB/s (64 KiB chunks, best of {reps}; load average {os.getloadavg()[0]:.1f})")
    print(f"  {'stream':<36} {rev:>12} {'this tree':>12} {'speed-up':>9}")
    for title, after in results["this tree"].items():
        before = results[rev][title]
        print(f"  {title:<36} {before:12.1f} {after:12.1f} {after / before:8.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=1_000_000, help="lines in (a) and (c)")
    parser.add_argument("--updates", type=int, default=1_000_000, help="redraws in (b) and (b')")
    parser.add_argument("--pyte-bytes", type=int, default=2_000_000, help="slice fed to pyte (0: skip)")
    parser.add_argument("--against", metavar="REV", help="compare with the LineSplitter of this git revision")
    parser.add_argument("--reps", type=int, default=3, help="repetitions with --against (the best counts)")
    parser.add_argument("--splitter-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.splitter_only:
        splitter_only(args.lines, args.updates, args.reps)
        return
    if args.against:
        against(args.against, args.lines, args.updates, args.reps)
        return
    for title, data, unit, units in streams(args.lines, args.updates):
        print(title)
        ours = measure("LineSplitter", data, run_splitter, unit, units)
        floor = measure("bytes.split (floor)", data, run_split, unit, units)
        print(f"  {'split / LineSplitter':<24} {floor / ours:7.1f}x")
        if args.pyte_bytes:
            cut = data[: args.pyte_bytes]
            share = len(cut) / len(data)
            pyte_mb_s = measure("pyte (emulation only)", cut, run_pyte, unit, round(units * share))
            print(f"  {'LineSplitter / pyte':<24} {ours / pyte_mb_s:7.1f}x")


if __name__ == "__main__":
    main()
