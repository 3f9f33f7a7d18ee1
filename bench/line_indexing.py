"""Throughput of the log-line indexer (`trainboard.server.loglines.LineSplitter`); prints figures.

Three streams, fed in 64 KiB chunks as the capture delivers them:
  (a) plain `print` lines, (b) one tqdm-like bar redrawn with `\\r`, (c) coloured log lines.
Each is also run through pyte (Stream + Screen, LNM mode; only the emulation, no line extraction,
so this favours pyte) on a slice, and through a bare `bytes.split(b"\\n")` as the floor to compare with
(ratios, not absolute times, are what to look at).

    python bench/line_indexing.py [--lines 1000000] [--pyte-bytes 2000000]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=1_000_000, help="lines in (a) and (c)")
    parser.add_argument("--updates", type=int, default=1_000_000, help="redraws in (b)")
    parser.add_argument("--pyte-bytes", type=int, default=2_000_000, help="slice fed to pyte (0: skip)")
    args = parser.parse_args()
    streams = [
        ("(a) plain print lines", plain_stream(args.lines), "lines", args.lines),
        ("(a') the same through a pty (\\r\\n)", plain_stream(args.lines).replace(b"\n", b"\r\n"), "lines", args.lines),
        ("(b) tqdm \\r redraws", tqdm_stream(args.updates), "redraws", args.updates),
        ("(c) coloured lines", coloured_stream(args.lines), "lines", args.lines),
    ]
    for title, data, unit, units in streams:
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
