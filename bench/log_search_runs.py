"""Search across runs (`GET /api/logs/search`) on a large corpus: latency of an indexed term; prints figures.

The corpus is built quickly by direct inserts through the store (`log_indexer.store_final`, the write path's
storing step: lines and structured lines' fields), not through HTTP ingest, with the full-text index made in
one pass at the end (FTS5 'rebuild' / CREATE INDEX, as a bulk import would) rather than line by line:
--runs runs of --lines-per-run lines each (~150 bytes a line: training-loop prints, every 50th a structlog
JSON line, a few warnings), in projects of 10 runs. A rare term (`NCCL timeout`, in 3 lines of every 20th
run), a medium one (`gradient overflow`, every 1000th line) and a common one (`loss`, almost every line) are
then searched through a real server process: first page (50 hits), a page deep in the cursor chain, one
project, a phrase with a level filter. Medians of 5 calls after one warm-up; corpus size printed.

    python bench/log_search_runs.py [--runs 100] [--lines-per-run 100000] [--db postgresql://...]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from _server import CLI, serve_process
from trainboard.server.ingest.log_indexer import store_final
from trainboard.server.loglines import classify
from trainboard.server.settings import Settings
from trainboard.server.store import runs as runs_store
from trainboard.server.store.engine import make_engines, upgrade

T0 = 1_780_000_000.0
BATCH = 20_000


def line(run: int, i: int) -> str:
    if i % 1000 == 0:
        return (
            f"2026-06-01 12:00:00,000 - trainer - WARNING - step {i}: gradient overflow, skipping batch (scale 65536)"
        )
    if run % 20 == 0 and i in (7_777, 33_333, 66_666):
        return (
            f"[rank{run % 8}] NCCL timeout: watchdog caught collective operation timeout after 1800000 ms at step {i}"
        )
    if i % 50 == 0:
        return json.dumps(
            {"event": "eval", "level": "info", "step": i, "val_loss": round(2 / (i + 1), 5), "logger": "train.eval"}
        )
    return (
        f"2026-06-01 12:{i // 6000 % 60:02d}:{i // 100 % 60:02d},{i % 1000:03d} INFO train.loop [rank{run % 8}] "
        f"epoch {i // 10_000} step {i:>7}: loss={1 / (i + 1):.6f} lr=0.000300 grad_norm=1.2345 tokens/s=123456.7 "
        f"mem={20 + i % 7}.5GB"
    )


#: What migration 0014 creates for the full-text index, dropped during the bulk build and made again after it
#: in one pass (FTS5 'rebuild' / CREATE INDEX): a bench shortcut, as a bulk import would do it.
_SQLITE_TRIGGER = (
    "CREATE TRIGGER log_lines_fts_ai AFTER INSERT ON log_lines BEGIN "
    "INSERT INTO log_lines_fts (rowid, text) VALUES (new.rowid, new.text); END"
)
_PG_INDEX = (
    "CREATE INDEX ix_log_lines_text_fts ON log_lines USING gin "
    "(to_tsvector('simple', regexp_replace(text, '[^[:alnum:]]+', ' ', 'g')))"
)


def build(settings: Settings, runs: int, per_run: int) -> tuple[int, int]:
    engines = make_engines(settings)
    upgrade(engines.writer)
    sqlite = settings.database_url.startswith("sqlite")
    with engines.writer.begin() as conn:
        conn.exec_driver_sql("DROP TRIGGER log_lines_fts_ai" if sqlite else "DROP INDEX ix_log_lines_text_fts")
    total_bytes = total_lines = 0
    started = time.perf_counter()
    for run in range(runs):
        run_id = f"bench-{run:05d}"
        with engines.writer.begin() as conn:
            runs_store.create_run(
                conn,
                run_id=run_id,
                name=run_id,
                project=f"project-{run // 10}",
                config={},
                start_time=T0 + run * per_run,
                status="completed",
            )
        for lo in range(0, per_run, BATCH):
            rows = []
            for i in range(lo, min(per_run, lo + BATCH)):
                text = line(run, i)
                total_bytes += len(text) + 1
                rows.append((i, T0 + run * per_run + i, "stdout", int(classify(text)), text, text))
            with engines.writer.begin() as conn:
                store_final(conn, run_id, rows)
            total_lines += len(rows)
        if run % 10 == 9 or run == runs - 1:
            rate = total_lines / (time.perf_counter() - started)
            print(
                f"  built {run + 1}/{runs} runs, {total_lines:,} lines, {total_bytes / 1e9:.2f} GB "
                f"({rate:,.0f} lines/s)",
                flush=True,
            )
    t = time.perf_counter()
    with engines.writer.begin() as conn:
        if sqlite:
            conn.exec_driver_sql("INSERT INTO log_lines_fts (log_lines_fts) VALUES ('rebuild')")
            conn.exec_driver_sql(_SQLITE_TRIGGER)
        else:
            conn.exec_driver_sql(_PG_INDEX)
            conn.exec_driver_sql("ANALYZE log_lines")
    print(f"  full-text index built in {time.perf_counter() - t:.0f} s", flush=True)
    engines.writer.dispose()
    engines.reader.dispose()
    return total_lines, total_bytes


def timed(c: httpx.Client, **params: object) -> tuple[float, dict[str, object]]:
    times = []
    body: dict[str, object] = {}
    c.get("/api/logs/search", params=params)  # type: ignore[arg-type]
    for _ in range(5):
        t = time.perf_counter()
        r = c.get("/api/logs/search", params=params)  # type: ignore[arg-type]
        times.append(time.perf_counter() - t)
        r.raise_for_status()
        body = r.json()
    return statistics.median(times) * 1000, body


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--lines-per-run", type=int, default=100_000)
    parser.add_argument("--db", default=None, help="PostgreSQL URL (default: SQLite in a temporary folder)")
    parser.add_argument("--data", default=None, help="data folder (default: a temporary one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tb-search-", dir=args.data) as tmp:
        data = Path(tmp)
        settings = Settings(data_dir=data, db_url=args.db)
        t = time.perf_counter()
        lines, size = build(settings, args.runs, args.lines_per_run)
        built = time.perf_counter() - t
        db_file = data / "trainboard.db"
        on_disk = sum(p.stat().st_size for p in data.glob("trainboard.db*")) if db_file.exists() else 0
        print(
            f"corpus: {args.runs} runs, {lines:,} lines, {size / 1e9:.2f} GB of text; built in {built:.0f} s"
            + (f"; SQLite files {on_disk / 1e9:.2f} GB" if on_disk else "")
            + f"; db {'SQLite' if not args.db else 'PostgreSQL'}"
        )
        with (
            serve_process(CLI, data, *(["--db", args.db] if args.db else []), wait=120) as url,
            httpx.Client(base_url=url, timeout=600) as c,
        ):
            cases = [
                ("rare phrase, first page", {"q": '"NCCL timeout"'}),
                ("rare word, first page", {"q": "watchdog"}),
                ("medium word, first page", {"q": "overflow"}),
                ("common word, first page", {"q": "loss"}),
                ("medium word + level>=warning", {"q": "overflow level>=warning"}),
                ("common word, one project", {"q": "loss", "project": "project-3"}),
                ("structured field, word", {"q": "eval field.step>90000"}),
            ]
            for name, params in cases:
                ms, body = timed(c, limit=50, **params)
                hits = body["hits"]
                assert isinstance(hits, list)
                print(
                    f"{name:32} {ms:8.1f} ms  ({len(hits)} hits, indexed={body['indexed']}, partial={body['partial']})"
                )
            # the 20th page of a common word through the cursor chain
            cursor = None
            for _ in range(19):
                body = c.get(
                    "/api/logs/search", params={"q": "loss", "limit": 50, **({"cursor": cursor} if cursor else {})}
                ).json()
                cursor = body["next_cursor"]
            ms, body = timed(c, q="loss", limit=50, cursor=cursor)
            print(f"{'common word, 20th page':32} {ms:8.1f} ms")
    print(f"load: {os.getloadavg()}")


if __name__ == "__main__":
    main()
