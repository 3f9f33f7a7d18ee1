"""Cost of recognising structured log lines (issue 28), per MB, against plain lines; prints figures.

What the write path's line indexer does to captured bytes: split them as a terminal would
(`LineSplitter`, in 64 KiB chunks as the capture delivers them) and read each final line as a structured
record when it is one (`parse_structured`: JSON or logfmt, by content). Three streams of about the same size:
  plain       `print` lines of a training loop (no structured line: the recognition is only its prefilter)
  json        structlog JSONRenderer / python-json-logger / loguru serialize=True lines, mixed
  logfmt      `level=info msg="..." step=N ...` lines
For each: MB/s of splitting alone, of splitting + recognition, and the ratio of the structured streams'
cost per MB to the plain stream's (the goal: at most 1.3x). Then the same through the write path's storing
step (`log_indexer.store_final`: lines, plus a structured line's fields row, inserted into a migrated SQLite
database, one transaction per chunk, FTS5 triggers included): what ingest pays per MB. Medians of --reps runs.

    python bench/log_parse.py [--mb 20] [--reps 5]
"""

from __future__ import annotations

import argparse
import functools
import itertools
import json
import tempfile
import time
from pathlib import Path

from sqlalchemy import Engine

from _timing import median_ms
from trainboard.server.ingest.log_indexer import store_final
from trainboard.server.loglines import LineSplitter
from trainboard.server.loglines.structured import parse_structured
from trainboard.server.settings import Settings
from trainboard.server.store.engine import make_engines, upgrade

CHUNK = 65536


def plain_stream(size: int) -> bytes:
    out, i = [], 0
    total = 0
    while total < size:
        line = f"epoch 3 step {i:>7}: loss={1 / (i + 1):.6f} lr=0.000300 grad_norm=1.2345 tokens/s=123456.7 ok\n"
        out.append(line)
        total += len(line)
        i += 1
    return "".join(out).encode()


def json_stream(size: int) -> bytes:
    out, i, total = [], 0, 0
    while total < size:
        kind = i % 3
        if kind == 0:
            rec = {
                "step": i,
                "loss": round(1 / (i + 1), 6),
                "event": "train step",
                "level": "info",
                "timestamp": "2026-12-07T22:05:44.418564Z",
                "logger": "train.loop",
            }
        elif kind == 1:
            rec = {
                "asctime": "2026-12-07 22:05:44,418",
                "levelname": "INFO",
                "name": "train.data",
                "message": f"loaded shard {i}",
                "shard": i,
            }
        else:
            rec = {
                "text": f"2026-12-07 22:05:44.417 | INFO | __main__:step:7 - step {i}\n",
                "record": {
                    "elapsed": {"repr": "0:00:00.061856", "seconds": 0.061856},
                    "exception": None,
                    "extra": {"step": i},
                    "file": {"name": "train.py", "path": "/w/train.py"},
                    "function": "step",
                    "level": {"icon": "i", "name": "INFO", "no": 20},
                    "line": 7,
                    "message": f"step {i}",
                    "module": "train",
                    "name": "__main__",
                    "process": {"id": 1, "name": "MainProcess"},
                    "thread": {"id": 1, "name": "MainThread"},
                    "time": {"repr": "2026-12-07 22:05:44.417946+00:00", "timestamp": 1796681144.4},
                },
            }
        line = json.dumps(rec) + "\n"
        out.append(line)
        total += len(line)
        i += 1
    return "".join(out).encode()


def logfmt_stream(size: int) -> bytes:
    out, i, total = [], 0, 0
    while total < size:
        line = (
            f'ts=2026-12-07T22:05:44Z level=info logger=train.loop msg="train step" step={i} loss={1 / (i + 1):.6f}\n'
        )
        out.append(line)
        total += len(line)
        i += 1
    return "".join(out).encode()


def split_only(data: bytes) -> int:
    splitter = LineSplitter()
    n = 0
    for at in range(0, len(data), CHUNK):
        n += len(splitter.feed(data[at : at + CHUNK], 0.0))
    return n


def split_and_parse(data: bytes) -> int:
    splitter = LineSplitter()
    n = 0
    for at in range(0, len(data), CHUNK):
        for line in splitter.feed(data[at : at + CHUNK], 0.0):
            if parse_structured(line.text) is not None:
                n += 1
    return n


def write_path(engine: Engine, data: bytes, run_id: str) -> int:
    splitter = LineSplitter()
    n = 0
    for at in range(0, len(data), CHUNK):
        rows = [
            (n + i, 0.0, "stdout", int(ln.level), ln.text, ln.display)
            for i, ln in enumerate(splitter.feed(data[at : at + CHUNK], 0.0))
        ]
        n += len(rows)
        with engine.begin() as conn:
            store_final(conn, run_id, rows)
    return n


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=float, default=20.0)
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    size = int(args.mb * 1_000_000)
    streams = {"plain": plain_stream(size), "json": json_stream(size), "logfmt": logfmt_stream(size)}
    per_mb: dict[str, float] = {}
    print(f"{'stream':8} {'MB':>6} {'lines':>9} {'structured':>10} {'split MB/s':>11} {'+parse MB/s':>12} {'ms/MB':>8}")
    for name, data in streams.items():
        mb = len(data) / 1e6
        split_ms = median_ms(functools.partial(split_only, data), args.reps)
        both_ms = median_ms(functools.partial(split_and_parse, data), args.reps)
        found = split_and_parse(data)
        lines = data.count(b"\n")
        per_mb[name] = both_ms / mb
        print(
            f"{name:8} {mb:6.1f} {lines:9,} {found:10,} {mb / split_ms * 1000:11.1f} {mb / both_ms * 1000:12.1f} "
            f"{per_mb[name]:8.1f}"
        )
    for name in ("json", "logfmt"):
        print(f"cost per MB, {name} / plain: {per_mb[name] / per_mb['plain']:.2f}x (goal <= 1.3x)")
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp))
        engine = make_engines(settings).writer
        upgrade(engine)
        runs = itertools.count()
        stored: dict[str, float] = {}
        for name, data in streams.items():

            def store_once(d: bytes = data) -> object:
                return write_path(engine, d, f"run-{next(runs)}")

            stored[name] = median_ms(store_once, args.reps) / (len(data) / 1e6)
            print(f"write path {name:8} {stored[name]:8.1f} ms/MB")
        for name in ("json", "logfmt"):
            print(f"write path cost per MB, {name} / plain: {stored[name] / stored['plain']:.2f}x (goal <= 1.3x)")
        engine.dispose()
    t0 = time.perf_counter()
    plain_overhead = median_ms(lambda: split_and_parse(streams["plain"]), args.reps) / median_ms(
        lambda: split_only(streams["plain"]), args.reps
    )
    print(
        f"recognition's cost on plain lines: {plain_overhead:.3f}x of splitting alone "
        f"({time.perf_counter() - t0:.0f} s to measure)"
    )


if __name__ == "__main__":
    main()
