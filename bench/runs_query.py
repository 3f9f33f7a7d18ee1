"""The runs table's query over 10,000 runs (issue 14 target: under 100 ms server time on SQLite and PostgreSQL).

Each run has 20 config values and 5 metrics (summaries as ingest keeps them). The runs are written straight
into the database of a real ``trainboard serve`` (the query is measured, not the loading), then these
requests are timed over loopback, median of 15 after a warm-up:

- page 1 (100 runs) with a filter on config and a metric, sorted by a metric's last value (the issue's case);
- the same, deep in the results (page 20 through the cursor);
- the same with the summaries of every metric in the response (what the runs table asks for);
- sorted by a config value; the column picker's keys; the plain newest-first list.

And what keeping the summaries costs the metric write path: the same batches ingested (store level, SQLite)
with the summaries kept and with their upsert skipped, as a ratio.

"server" is the time the server reports in ``Server-Timing``-less form: the request latency minus the
latency of ``/health`` (HTTP overhead on loopback), so it is close to the handler's time.

``--baseline REF`` (a git commit) also serves the same seeded data with the server code of REF (its ``src/``
exported to a temporary folder and put first on the server's ``PYTHONPATH``), alternating the two servers twice
per engine, and prints each case's best time for both and their ratio: a before/after under one machine load.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, insert

from _server import revision_src, running_server
from _timing import median_ms
from trainboard.server.runs_query.query import RunsQuery, run_page
from trainboard.server.store.run_config import flatten
from trainboard.server.store.tables import run_config, run_metric_summaries, runs

RUNS = 10_000
METRICS = ("train/loss", "val/loss", "val/acc", "lr", "sys/gpu0/util")
PG = os.environ.get("TRAINBOARD_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")


def seed(url: str, n: int = RUNS) -> float:
    """Write ``n`` runs in bulk into the database at ``url``; returns the seconds the writing took."""
    rng = random.Random(14)
    now = time.time()
    run_rows: list[dict[str, Any]] = []
    config_rows: list[dict[str, Any]] = []
    summary_rows: list[dict[str, Any]] = []
    for i in range(n):
        run_id = f"r{i:05d}"
        config = {
            "lr": rng.choice([1e-2, 3e-3, 1e-3, 3e-4, 1e-4]),
            "batch_size": rng.choice([32, 64, 128, 256]),
            "seed": i % 5,
            "optimizer": {"name": rng.choice(["adam", "sgd", "adamw"]), "momentum": 0.9, "eps": 1e-8},
            "model": {"depth": rng.randint(2, 48), "width": rng.choice([128, 256, 512]), "act": "gelu"},
            **{f"extra_{k}": rng.random() for k in range(11)},
        }
        status = rng.choice(["completed", "completed", "failed", "running", "interrupted"])
        run_rows.append(
            {
                "id": run_id,
                "name": f"sweep-{i}",
                "project": "bench",
                "status": status,
                "config": json.dumps(config),
                "start_time": now - i * 60,
                "end_time": None if status == "running" else now - i * 60 + rng.uniform(60, 7200),
                "created_at": now,
            }
        )
        config_rows += [{"run_id": run_id, "key": k, "num": n, "text": t} for k, n, t in flatten(config)]
        for key in METRICS:
            if rng.random() < 0.05:
                continue  # some runs lack some metrics
            last = rng.uniform(0.01, 2.0)
            summary_rows.append(
                {
                    "run_id": run_id,
                    "key": key,
                    "last_step": 1000,
                    "last_val": last,
                    "min_val": last * 0.8,
                    "max_val": last * 3,
                    "n": 1000,
                }
            )
    engine = create_engine(url)
    t0 = time.perf_counter()
    with engine.begin() as conn:
        for table, rows in ((runs, run_rows), (run_config, config_rows), (run_metric_summaries, summary_rows)):
            for start in range(0, len(rows), 5000):
                conn.execute(insert(table), rows[start : start + 5000])
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("ANALYZE")  # what autovacuum does after a bulk load in a running system
    engine.dispose()
    return time.perf_counter() - t0


QUERY: dict[str, Any] = {
    "project": "bench",
    "filter": "config.lr <= 1e-3 and val/loss < 1.5 and status != running",
    "sort": "-val/acc",
    "limit": 100,
}


def cases(c: httpx.Client) -> dict[str, Callable[[], object]]:
    """The timed requests against the seeded server ``c`` talks to."""

    def get(params: dict[str, Any]) -> Callable[[], object]:
        return lambda: c.get("/api/runs", params=params).raise_for_status()

    cursor = None
    for _ in range(19):
        cursor = c.get("/api/runs", params={**QUERY, **({"cursor": cursor} if cursor else {})}).json()["next_cursor"]
    return {
        "filter + metric sort, page 1 (100 runs)": get(QUERY),
        "filter + metric sort, page 20 (cursor)": get({**QUERY, "cursor": cursor}),
        "filter + metric sort + all summaries": get({**QUERY, "summary": "*"}),
        "sort by config.model.depth": get({"project": "bench", "sort": "config.model.depth", "limit": 100}),
        "newest first, no filter": get({"project": "bench", "limit": 100}),
        "column picker keys": lambda: c.get("/api/projects/bench/columns").raise_for_status(),
    }


def measure(label: str, db: str | None) -> None:
    with running_server(db) as (url, data), httpx.Client(base_url=url, timeout=60) as c:
        seconds = seed(db or f"sqlite:///{data / 'trainboard.db'}")
        print(f"{label}: seeded {RUNS:,} runs x ({len(METRICS)} metric summaries + 20 config keys) in {seconds:.1f} s")
        base = median_ms(lambda: c.get("/health").raise_for_status(), 15)
        timed = cases(c)
        total = c.get("/api/runs", params=QUERY).json()["total"]
        print(f"  /health on loopback: {base:.1f} ms (subtracted below); the filter matches {total:,} runs")
        for name, fn in timed.items():
            ms = median_ms(fn, 15)
            print(f"  {name:45s} {ms:7.1f} ms request   ~{max(ms - base, 0):6.1f} ms server")
        in_process(db or f"sqlite:///{data / 'trainboard.db'}", QUERY)


@contextlib.contextmanager
def server_code(src: Path | None) -> Iterator[None]:
    """Servers started inside import trainboard from ``src`` (None: this checkout)."""
    before = os.environ.get("PYTHONPATH")
    if src is not None:
        os.environ["PYTHONPATH"] = os.pathsep.join([str(src), *([before] if before else [])])
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = before


@contextlib.contextmanager
def fresh_db(engine: str) -> Iterator[str | None]:
    """None for SQLite (the server's own file), else the URL of a new PostgreSQL database dropped after."""
    if engine == "SQLite":
        yield None
        return
    import psycopg

    name = f"tb_bench_{os.getpid()}_{time.monotonic_ns()}"
    with psycopg.connect(PG, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(PG, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def compare(ref: str) -> None:
    """This checkout's server against REF's, both up at once on the same data, their requests alternated (a
    change in the machine's load hits both alike): each case's median for both, and the ratio."""
    with revision_src(ref) as ref_src:
        for engine in ("SQLite", "PostgreSQL"):
            try:
                with contextlib.ExitStack() as stack:
                    timed: dict[str, dict[str, Callable[[], object]]] = {}
                    for which, src in (("before", ref_src), ("after", None)):
                        db = stack.enter_context(fresh_db(engine))
                        with server_code(src):
                            url, data = stack.enter_context(running_server(db))
                        seed(db or f"sqlite:///{data / 'trainboard.db'}")
                        timed[which] = cases(stack.enter_context(httpx.Client(base_url=url, timeout=60)))
                    print(f"{engine}: median of 21 alternated requests, server code of {ref} vs this checkout")
                    for case in timed["before"]:
                        before, after = alternated(timed["before"][case], timed["after"][case])
                        print(f"  {case:45s} {before:7.1f} ms -> {after:7.1f} ms   x{before / after:.2f}")
                    print(f"  (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")
            except Exception as exc:  # no PostgreSQL here
                print(f"{engine}: skipped ({exc!r})")


def alternated(a: Callable[[], object], b: Callable[[], object], n: int = 21) -> tuple[float, float]:
    a(), b()
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(n):
        for fn, out in ((a, times[0]), (b, times[1])):
            t0 = time.perf_counter()
            fn()
            out.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times[0]), statistics.median(times[1])


def in_process(url: str, query: dict[str, Any]) -> None:
    """The query function alone in this process: wall time, and the CPU time this process spent (for SQLite,
    the whole query's work, whatever else the machine is doing; for PostgreSQL only the client's share)."""
    engine = create_engine(url)
    q = RunsQuery(filter=query["filter"], sort=query["sort"], limit=query["limit"], project=query["project"])
    walls, cpus = [], []
    for _ in range(15):
        t0, c0 = time.perf_counter(), time.process_time()
        with engine.connect() as conn:
            run_page(conn, q)
        walls.append((time.perf_counter() - t0) * 1000)
        cpus.append((time.process_time() - c0) * 1000)
    engine.dispose()
    print(
        f"  run_page() in process, filter + metric sort: {statistics.median(walls):.1f} ms wall, "
        f"{statistics.median(cpus):.1f} ms CPU (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)"
    )


def ingest_cost() -> None:
    from unittest import mock

    from trainboard.server.store import metrics, run_summaries
    from trainboard.server.store.engine import upgrade
    from trainboard.server.store.runs import create_run

    def run_once(keep: bool) -> float:
        with tempfile.TemporaryDirectory() as tmp:
            engine = create_engine(f"sqlite:///{tmp}/t.db")
            upgrade(engine)
            with engine.begin() as conn:
                create_run(conn, run_id="i", name="i", project="p", config={})
            batches = [
                [
                    (None, step, time.time(), {f"k{j}": step * 0.1 + j for j in range(10)})
                    for step in range(b * 50, b * 50 + 50)
                ]
                for b in range(300)
            ]
            patch = (
                mock.patch.object(run_summaries, "record") if not keep else mock.patch.object(time, "time", time.time)
            )
            t0 = time.perf_counter()
            with patch:
                for batch in batches:
                    with engine.begin() as conn:
                        metrics.ingest(conn, run_id="i", stream=None, points=list(batch))
            elapsed = time.perf_counter() - t0
            engine.dispose()
            return elapsed

    kept, skipped = [], []
    for _ in range(3):  # interleaved, so a change in the machine's load hits both alike
        kept.append(run_once(True))
        skipped.append(run_once(False))
    with_summaries, without = min(kept), min(skipped)
    print(
        f"ingest, 300 batches x 50 steps x 10 keys (SQLite, store level): {with_summaries * 1000 / 300:.2f} ms/batch "
        f"with summaries, {without * 1000 / 300:.2f} without: ratio {with_summaries / without:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", metavar="REF", help="also time REF's server code; print before/after ratios")
    args = parser.parse_args()
    if args.baseline:
        compare(args.baseline)
        return
    ingest_cost()
    measure("SQLite", None)
    try:
        import psycopg

        name = f"tb_bench_{os.getpid()}"
        with psycopg.connect(PG, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        try:
            measure("PostgreSQL", PG.rsplit("/", 1)[0] + f"/{name}")
        finally:
            with psycopg.connect(PG, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    except Exception as exc:
        print(f"PostgreSQL: skipped ({exc})")


if __name__ == "__main__":
    main()
