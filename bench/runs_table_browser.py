"""The runs table in chromium with 10,000 runs x 50 columns (issue 14 targets: first render under 1 s, a sort
under 200 ms).

A real ``trainboard serve`` (SQLite) gets 10,000 runs written straight into its database (15 config keys and
10 metrics with their summaries, as ingest keeps them), then ``/table`` is opened with 50 columns: 5 of the
run (name, status, tags, start, duration), 15 config keys and 10 metrics x last/min/max. Timed in the page:

- first render: navigation start -> the first page of rows painted with their metric cells (median of 5 loads);
- sort: a click on a metric column's header -> the server's new first run in the first row (the request to the
  server, the new page and its render; median of 6 clicks alternating ascending / descending).

The table asks the server for a first page of 100 runs, then pages of 500, and renders only the visible rows
(virtualised), so the figures hold however many of the 10,000 are scrolled in.

    python bench/runs_table_browser.py [--runs 10000]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import time
from typing import Any
from urllib.parse import urlencode

import httpx
from sqlalchemy import create_engine, insert

from _server import running_server
from trainboard.server.store.run_config import flatten
from trainboard.server.store.tables import run_config, run_metric_summaries, runs

CHROMIUM = os.environ.get("TRAINBOARD_CHROMIUM", "/usr/bin/chromium")
METRICS = [f"{split}/{name}" for split in ("train", "val") for name in ("loss", "acc", "f1", "auc", "ppl")]
FIXED = ["name", "status", "tags", "start_time", "duration"]

FIRST_ROWS_JS = """(col) => {
  const cell = document.querySelector(`.xp-row [data-col="${col}"]`);
  return cell && cell.textContent !== '—' ? performance.now() : false;
}"""

SORT_JS = """async ([col, expected]) => {
  const button = document.querySelector(`.xp-head [data-col="${col}"] button`);
  performance.clearResourceTimings();
  const t0 = performance.now();
  button.click();
  await new Promise((resolve) => {
    const check = () => {
      if (document.querySelector('.xp-row')?.dataset.runId === expected) resolve(null);
      else requestAnimationFrame(check);
    };
    check();
  });
  // the frame with the new rows
  await new Promise((r) => requestAnimationFrame(() => r(null)));
  const total = performance.now() - t0;
  const req = performance.getEntriesByType('resource')
    .filter((e) => e.name.includes('/api/runs') && e.startTime >= t0);  // not a refresh begun before the click
  if (!req.length) return [total, NaN, NaN, NaN];
  // click -> request sent, the request, response received -> new rows painted
  return [total, req[0].duration, req[0].startTime - t0, t0 + total - req[0].responseEnd];
}"""


SORTED_JS = """([col, dir]) =>
  document.querySelector(`.xp-head [data-col="${col}"]`).getAttribute('aria-sort') === dir"""


def config_of(rng: random.Random, i: int) -> dict[str, Any]:
    return {
        "lr": rng.choice([1e-2, 3e-3, 1e-3, 3e-4, 1e-4]),
        "batch_size": rng.choice([32, 64, 128, 256]),
        "seed": i % 5,
        "optimizer": {"name": rng.choice(["adam", "sgd", "adamw"]), "momentum": 0.9},
        "model": {"depth": rng.randint(2, 48), "width": rng.choice([128, 256, 512]), "act": "gelu"},
        **{f"extra_{k}": round(rng.random(), 4) for k in range(7)},
    }


def seed(db_url: str, n: int) -> tuple[float, list[str]]:
    rng = random.Random(14)
    now = time.time()
    run_rows: list[dict[str, Any]] = []
    config_rows: list[dict[str, Any]] = []
    summary_rows: list[dict[str, Any]] = []
    keys: list[str] = []
    for i in range(n):
        run_id = f"r{i:05d}"
        config = config_of(rng, i)
        flat = flatten(config)
        keys = keys or [k for k, _, _ in flat]
        status = rng.choice(["completed", "completed", "failed", "running", "interrupted"])
        run_rows.append(
            {
                "id": run_id,
                "name": f"sweep-{i:05d}-{config['optimizer']['name']}-lr{config['lr']:g}",
                "project": "bench",
                "status": status,
                "config": json.dumps(config),
                "start_time": now - i * 60,
                "end_time": None if status == "running" else now - i * 60 + rng.uniform(60, 7200),
                "created_at": now,
            }
        )
        config_rows += [{"run_id": run_id, "key": k, "num": v, "text": t} for k, v, t in flat]
        for key in METRICS:
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
    engine = create_engine(db_url)
    t0 = time.perf_counter()
    with engine.begin() as conn:
        for table, rows in ((runs, run_rows), (run_config, config_rows), (run_metric_summaries, summary_rows)):
            for start in range(0, len(rows), 5000):
                conn.execute(insert(table), rows[start : start + 5000])
    engine.dispose()
    return time.perf_counter() - t0, keys


def nan_median(values: list[float]) -> float:
    return statistics.median([v for v in values if v == v] or [float("nan")])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10_000)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with running_server() as (url, data):
        seconds, config_keys = seed(f"sqlite:///{data / 'trainboard.db'}", args.runs)
        columns = [
            *FIXED,
            *[f"config.{k}" for k in config_keys[:15]],
            *[f"metric:{s}:{m}" for m in METRICS for s in ("last", "min", "max")],
        ]
        print(f"seeded {args.runs:,} runs ({len(config_keys)} config keys, {len(METRICS)} metrics) in {seconds:.1f} s")
        print(f"table: {len(columns)} columns, pages of 100 then 500 runs from the server, rows virtualised")
        table = f"{url}/table?" + urlencode({"project": "bench", "cols": "\n".join(columns)})
        sort_col = "metric:last:val/loss"
        first: dict[bool, str] = {}
        for asc in (True, False):
            params: dict[str, str | int] = {"project": "bench", "sort": f"{'' if asc else '-'}val/loss", "limit": 1}
            first[asc] = httpx.get(f"{url}/api/runs", params=params).json()["runs"][0]["id"]
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            page.goto(table)  # warm-up: the bundle in the HTTP cache, as for a returning user
            page.wait_for_function(FIRST_ROWS_JS, arg=sort_col, timeout=60_000)
            renders = []
            for _ in range(5):
                page.goto(table)
                renders.append(float(page.wait_for_function(FIRST_ROWS_JS, arg=sort_col, timeout=60_000).json_value()))
            rows = page.locator(".xp-row").count()
            cells = page.locator(".xp-row .xp-cell").count()
            sorts: list[float] = []
            requests: list[float] = []
            befores: list[float] = []
            afters: list[float] = []
            for k in range(6):
                asc = k % 2 == 0
                total, request, before, after = page.evaluate(SORT_JS, [sort_col, first[asc]])
                sorts.append(float(total))
                requests.append(float(request))
                befores.append(float(before))
                afters.append(float(after))
                page.wait_for_function(SORTED_JS, arg=[sort_col, "ascending" if asc else "descending"])
                if not asc:  # the third click returns to the default order: start the next pair from there
                    page.locator(f'.xp-head [data-col="{sort_col}"] button').click()
                    page.wait_for_timeout(300)
            loaded = page.evaluate("document.querySelectorAll('.xp-row').length")
            browser.close()
        print(f"rows in the DOM: {rows} of the first page (virtualised), {cells} cells; after sorting {loaded}")
        print(
            f"first render (navigation -> rows painted): median {statistics.median(renders):.0f} ms "
            f"(min {min(renders):.0f}, max {max(renders):.0f}; target < 1000)"
        )
        print(
            f"sort by val/loss (click -> new first row painted): median {statistics.median(sorts):.0f} ms "
            f"(min {min(sorts):.0f}, max {max(sorts):.0f}; target < 200); the request for the new order's first page "
            f"(when not cached): median {nan_median(requests):.0f} ms"
        )
        print(
            f"  where a sort's time goes (medians): click -> request sent {nan_median(befores):.0f} ms, request "
            f"{nan_median(requests):.0f} ms, response -> rows painted {nan_median(afters):.0f} ms"
        )
        print(f"load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
