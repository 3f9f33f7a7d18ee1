"""The runs table at 100,000 runs in chromium (issue 25 goals: first rows < 500 ms after navigation, sort and
filter click -> painted < 150 ms, jump to the end < 300 ms, no frame over 50 ms while scrolling).

100,000 runs (20 config values, 5 metric summaries each) are written in bulk into the database of a real
``trainboard serve`` (``bench/runs_query.seed``: a few multi-row INSERTs, not 3 requests per run). Then, in
headless chromium (Playwright, Debian's /usr/bin/chromium) on /table?project=bench, each figure is taken in
the page with ``performance.now()`` -- the moment is the first animation frame after the DOM shows the change,
i.e. painted -- and split into its parts:

- server: the same API request timed alone over loopback (median of 5; what the server and the wire take);
- browser: the rest (scheduling, JSON parsing, React rendering and layout).

Figures (median of ``--repeat`` tries, each in a fresh page unless said otherwise):

- first rows: navigation start -> the first row painted;
- sort click: click on the val/loss header -> the first row of the new order painted;
- filter: Enter in the filter box -> the rows of the filter painted;
- jump to end: the End key in the grid -> the last run of the project painted;
- scrolling: a 3 s wheel scroll through the loaded rows; the longest and the 95th-percentile frame.

``--runs N`` changes the count (default 100,000). Prints each figure; nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from _server import CLI, serve_process
from _timing import median_ms
from runs_query import seed

CHROMIUM = os.environ.get("TRAINBOARD_CHROMIUM", "/usr/bin/chromium")
FILTER = "config.lr <= 1e-3 and val/loss < 1.5"

# Records, in the page, when the first .xp-row appears (relative to navigation start) and offers helpers
# that time "something happens -> the DOM shows it -> next frame".
INIT_JS = """
(() => {
  window.__tb = { firstRow: null };
  const obs = new MutationObserver(() => {
    if (window.__tb.firstRow === null && document.querySelector('.xp-row')) {
      requestAnimationFrame(() => { window.__tb.firstRow = performance.now(); });
      obs.disconnect();
    }
  });
  document.addEventListener('DOMContentLoaded', () => obs.observe(document.body, { childList: true, subtree: true }));
  window.__tbUntil = (pred, timeout) => new Promise((resolve, reject) => {
    const t0 = performance.now();
    const tick = () => {
      if (pred()) { requestAnimationFrame(() => resolve(performance.now())); return; }
      if (performance.now() - t0 > timeout) { reject(new Error('timed out')); return; }
      requestAnimationFrame(tick);
    };
    tick();
  });
})();
"""

FIRST_ID = "() => document.querySelector('.xp-row')?.dataset.runId ?? null"


def server_parts(url: str, total: int) -> dict[str, float]:
    with httpx.Client(base_url=url, timeout=120) as c:

        def get(**params: Any) -> Callable[[], object]:
            return lambda: c.get("/api/runs", params={"project": "bench", "summary": "*", **params}).raise_for_status()

        return {
            "first rows": median_ms(get(limit=100)),
            "sort click": median_ms(get(limit=100, sort="val/loss")),
            "filter": median_ms(get(limit=100, filter=FILTER)),
            "jump to end": median_ms(get(limit=100, offset=max(0, total - 100))),
        }


def run_browser(url: str, total: int, repeat: int) -> dict[str, list[float]]:
    from playwright.sync_api import sync_playwright

    # the filter's first runs in the order the sort click left (val/loss ascending): the rows once it is painted
    params: dict[str, str | int] = {"project": "bench", "filter": FILTER, "sort": "val/loss", "limit": 5}
    matches = [r["id"] for r in httpx.get(f"{url}/api/runs", params=params).json()["runs"]]

    out: dict[str, list[float]] = {"first rows": [], "sort click": [], "filter": [], "jump to end": []}
    frames: list[float] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"])
        try:
            for _ in range(repeat):
                ctx = browser.new_context(viewport={"width": 1600, "height": 1000})
                page = ctx.new_page()
                page.add_init_script(INIT_JS)
                page.goto(f"{url}/table?project=bench")
                page.wait_for_function("() => window.__tb.firstRow !== null", timeout=60_000)
                out["first rows"].append(page.evaluate("() => window.__tb.firstRow"))
                page.wait_for_function(
                    "() => document.querySelector('[role=grid]')?.getAttribute('aria-busy') !== 'true'"
                )
                page.wait_for_timeout(300)

                before = page.evaluate(FIRST_ID)
                out["sort click"].append(
                    page.evaluate(
                        """async (before) => {
                          const b = document.querySelector('.xp-head [data-col="metric:last:val/loss"] button');
                          const t0 = performance.now();
                          b.click();
                          const t1 = await window.__tbUntil(() => {
                            const g = document.querySelector('[role=grid]');
                            const id = document.querySelector('.xp-row')?.dataset.runId;
                            return id && id !== before && g.getAttribute('aria-busy') !== 'true';
                          }, 60000);
                          return t1 - t0;
                        }""",
                        before,
                    )
                )
                page.wait_for_timeout(300)

                box = page.get_by_label("filter expression")
                box.fill(FILTER)
                out["filter"].append(
                    page.evaluate(
                        """async (expected) => {
                          const g = document.querySelector('[role=grid]');
                          const form = document.querySelector('[aria-label="filter expression"]').form;
                          const t0 = performance.now();
                          form.requestSubmit();  // what Enter in the box does
                          // painted: the filter's first runs in the first rows, the grid no longer busy
                          const t1 = await window.__tbUntil(() => g.getAttribute('aria-busy') !== 'true'
                            && [...document.querySelectorAll('.xp-row')].slice(0, expected.length)
                              .map((r) => r.dataset.runId).join() === expected.join(), 60000);
                          return t1 - t0;
                        }""",
                        matches,
                    )
                )
                ctx.close()

                # jump to the end of the unfiltered newest-first list, and scroll frames, in a fresh page
                ctx = browser.new_context(viewport={"width": 1600, "height": 1000})
                page = ctx.new_page()
                page.add_init_script(INIT_JS)
                page.goto(f"{url}/table?project=bench")
                page.wait_for_function("() => window.__tb.firstRow !== null", timeout=60_000)
                page.wait_for_timeout(300)
                last_id = f"r{total - 1:05d}"  # the oldest run (start times go back a minute per run): the last row
                page.locator("[role=grid]").focus()
                jump = page.evaluate(
                    """async (lastId) => {
                      const g = document.querySelector('[role=grid]');
                      const t0 = performance.now();
                      g.dispatchEvent(new KeyboardEvent('keydown', { key: 'End', bubbles: true }));
                      // End moves the cursor to the last row; its window loads; wait until the project's last run shows
                      const t1 = await window.__tbUntil(() => {
                        if (document.querySelector(`.xp-row[data-run-id="${lastId}"]`)) return true;
                        g.dispatchEvent(new KeyboardEvent('keydown', { key: 'End', bubbles: true }));
                        return false;
                      }, 120000).catch(() => null);
                      return t1 === null ? -1 : t1 - t0;
                    }""",
                    last_id,
                )
                out["jump to end"].append(jump if jump >= 0 else float("inf"))  # inf: not there after 120 s
                frames.extend(
                    page.evaluate(
                        """async () => {
                          const g = document.querySelector('[role=grid]');
                          g.scrollTop = 0;
                          const deltas = [];
                          let last = performance.now();
                          const t0 = last;
                          await new Promise((resolve) => {
                            const step = () => {
                              const now = performance.now();
                              deltas.push(now - last);
                              last = now;
                              g.scrollTop += 400;
                              if (now - t0 < 3000) requestAnimationFrame(step); else resolve();
                            };
                            requestAnimationFrame(step);
                          });
                          return deltas.slice(1);
                        }"""
                    )
                )
                ctx.close()
        finally:
            browser.close()
    out["frames"] = frames
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        sys.exit(f"{CHROMIUM} missing: apt-get install -y chromium (or set TRAINBOARD_CHROMIUM)")
    with tempfile.TemporaryDirectory(prefix="tb-bench-") as tmp:
        data = Path(tmp)
        with serve_process(CLI, data) as url:
            seconds = seed(f"sqlite:///{data / 'trainboard.db'}", args.runs)
            print(f"SQLite: seeded {args.runs:,} runs (bulk INSERTs) in {seconds:.1f} s; load {os.getloadavg()[0]:.1f}")
            if httpx.get(url + "/table").status_code != 200:
                sys.exit("the server serves no UI: build it (cd web && npm run build)")
            server = server_parts(url, args.runs)
            browser = run_browser(url, args.runs, args.repeat)
    goals = {"first rows": 500, "sort click": 150, "filter": 150, "jump to end": 300}
    print(f"runs table, {args.runs:,} runs, chromium 1600x1000, median of {args.repeat}:")
    for name, goal in goals.items():
        total = statistics.median(browser[name])
        srv = server[name]
        print(
            f"  {name:12s} {total:8.0f} ms painted   (server/API alone {srv:6.0f} ms, "
            f"browser ~{max(total - srv, 0):6.0f} ms)"
            f"   goal < {goal} ms: {'met' if total < goal else 'MISSED'}"
        )
    frames = sorted(browser["frames"])
    if frames:
        p95 = frames[int(len(frames) * 0.95) - 1]
        print(
            f"  scrolling    {len(frames)} frames: longest {frames[-1]:.0f} ms, 95th percentile {p95:.0f} ms"
            f"   goal no frame > 50 ms: {'met' if frames[-1] <= 50 else 'MISSED'}"
        )


if __name__ == "__main__":
    main()
