"""Metric storage at scale (issue 16 items 3 and 6): bytes per point on disk, and the 10M-point key.

Points are written through the store's own write path (``store.metrics.write_columns``, the code a
POST runs in the writer) into a migrated database -- 10M points through HTTP would take most of the
run here -- and the views are then fetched through HTTP from a real ``trainboard serve`` on that data.

Printed:
1. bytes per point on disk, before (raw segments, no pyramid: what the code wrote before issue 16),
   without compaction (compressed segments + pyramid, small sealed segments as written), after
   (compacted too, the run's leftover small segments merged at its end) and without tail rewrites (every
   small append a segment of its own, merged by compaction, instead of extending the open tail), on
   SQLite (pages in use after a WAL checkpoint, minus the empty schema) and PostgreSQL
   (``pg_total_relation_size`` of series, metric_segments and metric_pyramid after VACUUM FULL, and after
   a plain VACUUM in brackets), for a smooth curve (a float32 loss), a noisy one
   (float64 noise), 20 smooth keys and the mixed 200,000-point run (20 keys x 10,000 steps uploaded 10
   steps per batch, as the SDK does at 10 steps/s); ingest time of each;
2. one key with ``--big`` points (default 10,000,000) written in batches of 100,000: ingest time with
   the pyramid and without it (ratio), then GET /metrics full range with max_points=2000 and a zoomed
   window (exact), median of 7, on SQLite and PostgreSQL; and the same queries on raw segments
   without a pyramid ("before") for the query-cost ratio.

    .venv/bin/python bench/metric_storage.py [--big 10000000] [--pg postgresql://postgres@127.0.0.1/test]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace

import httpx
import numpy as np
from sqlalchemy import Engine, create_engine, insert

from _server import CLI, serve_process
from trainboard.server.settings import Settings
from trainboard.server.store import codec, metrics, pyramid
from trainboard.server.store.engine import make_engines, upgrade
from trainboard.server.store.metrics import Pieces
from trainboard.server.store.tables import runs

Workload = Callable[[], Iterator[Pieces]]
rng = np.random.default_rng(0)


def times_for(n: int) -> np.ndarray:
    """Wall times as ``time.time()`` gives them at ~10 steps/s: 100 ms apart with a few ms of jitter."""
    return 1.7e9 + np.cumsum(0.1 + rng.exponential(0.003, n))


def one_key(values: np.ndarray, batch: int) -> Workload:
    steps = np.arange(len(values), dtype=np.int64)
    times = times_for(len(values))

    def gen() -> Iterator[Pieces]:
        for a in range(0, len(values), batch):
            yield {"loss": [(steps[a : a + batch], values[a : a + batch], times[a : a + batch])]}

    return gen


def smooth(n: int) -> np.ndarray:
    """A smooth training curve as a float32 tensor's ``.item()`` gives it (an eval loss, an EMA, a schedule)."""
    x = np.arange(n)
    return (2.5 * np.exp(-x / 40_000) + 0.3 + 0.01 * np.sin(x / 500)).astype(np.float32).astype(np.float64)


def minibatch(n: int) -> np.ndarray:
    """A per-step training loss: a float32 curve with minibatch noise (random low mantissa bits)."""
    return (smooth(n) * (1 + 0.05 * rng.standard_normal(n))).astype(np.float32).astype(np.float64)


def run_200k(mix: bool = True) -> Workload:
    """20 keys x 10,000 steps, uploaded 10 steps per batch (one block per batch, shared step and time);
    ``mix=False``: every key a smooth float32 curve."""
    steps_n, keys = 10_000, 20
    x = np.arange(steps_n)
    cols = {}
    for k in range(keys):
        if not mix:
            cols[f"eval/m{k}"] = smooth(steps_n + 997 * k)[997 * k :] * (k + 1)
        elif k < 4:  # per-step losses: float32 with minibatch noise
            cols[f"train/m{k}"] = minibatch(steps_n) * (k + 1)
        elif k < 8:  # smoothed and eval curves
            cols[f"eval/m{k}"] = smooth(steps_n) * (k + 1)
        elif k < 12:  # learning rate schedule, grad norm
            cols[f"opt/m{k}"] = 1e-3 * 0.5 * (1 + np.cos(np.pi * x / steps_n))
        else:  # throughput and the like: noisy float64
            cols[f"perf/m{k}"] = 1000 + 50 * rng.standard_normal(steps_n)
    steps = x.astype(np.int64)
    times = times_for(steps_n)

    def gen() -> Iterator[Pieces]:
        for a in range(0, steps_n, 10):
            sl = slice(a, a + 10)
            yield {key: [(steps[sl], col[sl], times[sl])] for key, col in cols.items()}

    return gen


@contextlib.contextmanager
def before_issue_16() -> Iterator[None]:
    """Write raw segments and no pyramid, as the code did before issue 16."""
    saved = {name: getattr(metrics, name) for name in ("compress", "codec")}
    saved_min = pyramid.MIN_POINTS
    setattr(metrics, "compress", lambda s, v, t: (s.tobytes(), v.tobytes(), t.tobytes()))  # noqa: B010
    setattr(metrics, "codec", SimpleNamespace(ZSTD=codec.RAW))  # noqa: B010
    pyramid.MIN_POINTS = 2**62
    metrics.COMPACT = False
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(metrics, name, value)
        pyramid.MIN_POINTS = saved_min
        metrics.COMPACT = True


@contextlib.contextmanager
def no_compaction() -> Iterator[None]:
    """Small sealed segments stay as written (what the code did before compaction)."""
    metrics.COMPACT = False
    try:
        yield
    finally:
        metrics.COMPACT = True


@contextlib.contextmanager
def no_tail_rewrite() -> Iterator[None]:
    """Every small append a segment of its own (merged by compaction) instead of extending the open tail."""
    metrics.EXTEND_TAIL = False
    try:
        yield
    finally:
        metrics.EXTEND_TAIL = True


@contextlib.contextmanager
def no_pyramid() -> Iterator[None]:
    saved = pyramid.MIN_POINTS
    pyramid.MIN_POINTS = 2**62
    try:
        yield
    finally:
        pyramid.MIN_POINTS = saved


@contextlib.contextmanager
def database(kind: str, pg: str) -> Iterator[tuple[Engine, str | None, Path]]:
    """(engine, --db for serve or None, data dir) of a fresh migrated database."""
    with tempfile.TemporaryDirectory(prefix="tb-storage-") as tmp:
        data = Path(tmp)
        if kind == "sqlite":  # the server's own writer engine: WAL, synchronous=FULL
            engines = make_engines(Settings(data_dir=data, db_url=None, serve_ui=False))
            upgrade(engines.writer)
            yield engines.writer, None, data
            engines.dispose()
            return
        import psycopg

        name = "tb_bench_" + secrets.token_hex(4)
        with psycopg.connect(pg, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        url = pg.rsplit("/", 1)[0] + "/" + name
        engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
        try:
            upgrade(engine)
            yield engine, url, data
        finally:
            engine.dispose()
            with psycopg.connect(pg, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def ingest(engine: Engine, workload: Workload, run_id: str = "r") -> tuple[int, float]:
    """(points, seconds) of writing the workload through the store, one transaction per batch."""
    with engine.begin() as conn:
        conn.execute(insert(runs).values(id=run_id, name=run_id, status="running", start_time=0.0, created_at=0.0))
    points, spent = 0, 0.0
    for pieces in workload():
        t = time.perf_counter()
        with engine.begin() as conn:
            metrics.write_columns(conn, run_id=run_id, pieces=pieces, keys=list(pieces))
        spent += time.perf_counter() - t
        points += sum(len(p[0]) for parts in pieces.values() for p in parts)
    if metrics.COMPACT:  # the run ends: its leftover small segments are merged (not counted in the time)
        after: int | None = 0
        while after is not None:
            with engine.begin() as conn:
                after = metrics.settle(conn, run_id=run_id, after=after)
    return points, spent


def stored_bytes(engine: Engine, kind: str, data: Path, *, full: bool = True) -> int:
    """Bytes the metric tables take. SQLite: pages in use (the file less its free list, which later writes
    reuse). PostgreSQL: after VACUUM FULL with ``full`` (the rows at rest), else after a plain VACUUM (the
    files, holding the space of rewritten and deleted rows until later writes reuse it)."""
    if kind == "sqlite":  # pages in use (the file less its free list), after a checkpoint
        with contextlib.closing(sqlite3.connect(data / "trainboard.db", isolation_level=None)) as db:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            pages, free, size = (
                db.execute(f"PRAGMA {p}").fetchone()[0] for p in ("page_count", "freelist_count", "page_size")
            )
            return int((pages - free) * size)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM FULL ANALYZE" if full else "VACUUM ANALYZE")
        row = conn.exec_driver_sql(
            "SELECT pg_total_relation_size('series') + pg_total_relation_size('metric_segments') "
            "+ pg_total_relation_size('metric_pyramid')"
        ).first()
        assert row is not None
        return int(row[0])


def storage(kinds: list[str], pg: str, only: list[int] | None = None) -> None:
    print("1. bytes per point on disk and ingest time through the store (one transaction per batch):")
    print("   before = raw segments, no pyramid; no compaction = compressed, small sealed segments kept;")
    print("   after = compressed, compacted (leftovers merged at the run's end), pyramid; no tail rewrite = after,")
    print("   every small append a new segment instead of the open tail extended. PostgreSQL: rows at rest")
    print("   (after VACUUM FULL), and in")
    print("   brackets the files after a plain VACUUM (space of rewritten rows, reused by later writes)")
    workloads: list[tuple[str, Workload]] = [
        ("smooth float32 curve, 200,000 points, batches of 1,000", one_key(smooth(200_000), 1_000)),
        ("per-step float32 loss (minibatch noise), 200,000 points", one_key(minibatch(200_000), 1_000)),
        ("noisy float64, 200,000 points, batches of 1,000", one_key(1 + rng.standard_normal(200_000), 1_000)),
        ("20 smooth float32 keys x 10,000 steps, 10 steps per batch (SDK)", run_200k(mix=False)),
        ("the 200,000-point run (20 mixed keys x 10,000 steps, 10 steps per batch)", run_200k()),
    ]
    variants: list[tuple[str, Callable[[], contextlib.AbstractContextManager[None]]]] = [
        ("before", before_issue_16),
        ("no compaction", no_compaction),
        ("after", contextlib.nullcontext),
        ("no tail rewrite", no_tail_rewrite),
    ]
    for number, (label, workload) in enumerate(workloads, 1):
        if only and number not in only:
            continue
        print(f"  {number}. {label}:")
        for kind in kinds:
            figures: dict[str, str] = {}
            spent_by: dict[str, float] = {}
            for when, ctx in variants:
                with database(kind, pg) as (engine, _url, data):
                    empty = stored_bytes(engine, kind, data)
                    with ctx():
                        n, spent = ingest(engine, workload)
                    spent_by[when] = spent
                    text = f"{(stored_bytes(engine, kind, data, full=False) - empty) / n:.2f}"
                    if kind == "postgresql":  # the plain-VACUUM figure first: VACUUM FULL shrinks the files
                        text = f"{(stored_bytes(engine, kind, data) - empty) / n:.2f} [{text}]"
                    figures[when] = text
            print(
                f"    {kind:10} bytes/point: " + ", ".join(f"{w} {figures[w]}" for w, _c in variants) + "; ingest "
                + ", ".join(f"{w} {spent_by[w]:.2f} s" for w, _c in variants)
            )  # fmt: skip


@contextlib.contextmanager
def serve(data: Path, db: str | None) -> Iterator[str]:
    with serve_process(CLI, data, *(["--db", db] if db else []), wait=60) as url:
        yield url


def query(url: str, params: dict[str, str | int], repeat: int = 7) -> tuple[float, int, int]:
    """(median ms of ``repeat``, points returned, count) of GET /api/runs/r/metrics."""
    spent = []
    with httpx.Client(base_url=url, timeout=600) as c:
        c.get("/api/runs/r/metrics", params=params).raise_for_status()  # warm
        for _ in range(repeat):
            t = time.perf_counter()
            series = c.get("/api/runs/r/metrics", params=params).json()["metrics"]["loss"]
            spent.append(time.perf_counter() - t)
    return statistics.median(spent) * 1000, len(series["step"]), series["count"]


def big(kinds: list[str], pg: str, n: int, with_before: bool) -> None:
    print(f"2. one key with {n:,} points (batches of 100,000), views through HTTP (median of 7; 3 before)")
    values = smooth(n)
    values[n // 3] = 1e3  # a spike
    values[2 * n // 3] = np.nan
    workload = one_key(values, 100_000)
    cases: list[tuple[str, dict[str, str | int]]] = [
        ("full range, max_points=2000", {"keys": "loss", "max_points": 2000}),
        (
            "zoom 10,000 steps, max_points=2000",
            {"keys": "loss", "max_points": 2000, "start": n // 2, "end": n // 2 + 9_999},
        ),
        ("zoom 1,000 steps (every point)", {"keys": "loss", "max_points": 2000, "start": n // 2, "end": n // 2 + 999}),
    ]
    for kind in kinds:
        variants: list[tuple[str, Callable[[], contextlib.AbstractContextManager[None]]]] = [
            ("after", contextlib.nullcontext),
            ("no pyramid", no_pyramid),
        ]
        if with_before:
            variants.append(("before", before_issue_16))
        spent_by = {}
        for when, ctx in variants:
            with database(kind, pg) as (engine, url_db, data):
                empty = stored_bytes(engine, kind, data)
                with ctx():
                    points, spent = ingest(engine, workload)
                spent_by[when] = spent
                size = (stored_bytes(engine, kind, data) - empty) / points
                engine.dispose()
                rate = points / spent / 1e6
                line = f"  {kind:10} {when:10}: ingest {rate:5.2f} M points/s ({spent:5.1f} s), {size:5.2f} bytes/point"
                if when == "no pyramid":
                    print(line)
                    continue
                print(line)
                with serve(data, url_db) as url:
                    for label, params in cases:
                        ms, shown, count = query(url, params, 3 if when == "before" else 7)
                        print(f"      {label}: {ms:7.1f} ms, {shown} points of {count:,}")
        print(f"  {kind:10} pyramid ingest cost: {spent_by['after'] / spent_by['no pyramid']:.2f}x the time without it")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--big", type=int, default=10_000_000)
    ap.add_argument("--pg", default=os.environ.get("TRAINBOARD_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test"))
    ap.add_argument("--only", choices=["sqlite", "postgresql"], default=None)
    ap.add_argument("--skip-storage", action="store_true")
    ap.add_argument("--skip-big", action="store_true")
    ap.add_argument("--workload", type=int, action="append", help="only these workloads of part 1 (1-5)")
    ap.add_argument("--no-before", action="store_true", help="skip the raw 'before' variant of the big key")
    args = ap.parse_args()
    kinds = [args.only] if args.only else ["sqlite", "postgresql"]
    if not args.skip_storage:
        storage(kinds, args.pg, args.workload)
    if not args.skip_big:
        big(kinds, args.pg, args.big, not args.no_before)


if __name__ == "__main__":
    main()
