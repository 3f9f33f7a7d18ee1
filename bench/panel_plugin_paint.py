"""What a panel plugin adds to the run page's first paint, in Debian's chromium.

Installs the example ``plugins/trainboard-confusion-matrix`` with pip (offline) into a temporary folder, starts two
real ``trainboard serve`` processes — one without plugins, one with ``--plugin confusion-matrix`` (its interpreter
seeing that folder) — fills each with the same run (a few metrics and a logged confusion table), then opens the run
page ``--repeat`` times on each, alternating, each in a fresh browser context, and prints medians of:

- first paint (``first-contentful-paint``) and "run page ready" (the METRICS and CONFIG boxes in the page);
- with the plugin, when its matrix is drawn (its module imported, its data fetched, mounted).

Goal (issue 29): the plugin adds at most 50 ms to the first paint. Needs the built UI (``cd web && npm run build``).

    python bench/panel_plugin_paint.py --repeat 15
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _server import CLI, served

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("TRAINBOARD_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-sync"]

READY_JS = """() => document.querySelector('section[aria-label^="METRICS"]') &&
  document.querySelector('section[aria-label="CONFIG"]') ? performance.now() : false"""
FCP_JS = (
    """() => { const e = performance.getEntriesByName('first-contentful-paint')[0]; return e ? e.startTime : false }"""
)
PANEL_JS = """() => document.querySelector('[data-plugin="confusion-matrix"] table') ? performance.now() : false"""


def fill(url: str) -> str:
    with httpx.Client(base_url=url, headers={"X-Trainboard": "1"}, timeout=30) as c:
        run_id = str(c.post("/api/runs", json={"name": "bench-panel", "config": {"lr": 0.1}}).json()["id"])
        points = [{"seq": i + 1, "step": i, "metrics": {"loss": 1 / (i + 1), "acc": i / 100}} for i in range(100)]
        c.post(f"/api/runs/{run_id}/metrics", json={"stream": "bench", "points": points}).raise_for_status()
        cols = [{"name": n, "type": t} for n, t in (("actual", "str"), ("predicted", "str"), ("count", "int"))]
        labels = [f"class{i}" for i in range(10)]
        rows = [[a, p, (50 if a == p else 1)] for a in labels for p in labels]
        value = {"key": "eval/confusion", "step": 1, "kind": "table", "table": {"columns": cols, "rows": rows}}
        c.post(f"/api/runs/{run_id}/rich", json={"values": [value]}).raise_for_status()
        return run_id


def measure(browser: Any, url: str, run_id: str, panel: bool) -> tuple[float, float, float | None]:
    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    page = context.new_page()
    try:
        page.goto(f"{url}/runs/{run_id}")
        ready = float(page.wait_for_function(READY_JS, timeout=30_000).json_value())
        fcp = float(page.wait_for_function(FCP_JS, timeout=30_000).json_value())
        drawn = float(page.wait_for_function(PANEL_JS, timeout=30_000).json_value()) if panel else None
        return fcp, ready, drawn
    finally:
        context.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=11)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    if not (ROOT / "src" / "trainboard" / "server" / "static" / "index.html").is_file():
        raise SystemExit("the web UI is not built: cd web && npm run build")
    with tempfile.TemporaryDirectory() as tmp:
        site = Path(tmp) / "site"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "-q",
                "--no-index",
                "--no-deps",
                "--no-build-isolation",
                "--target",
                str(site),
                str(ROOT / "plugins" / "trainboard-confusion-matrix"),
            ],
            check=True,
        )
        env = {**os.environ, "PYTHONPATH": str(site)}
        env.pop("TRAINBOARD_PLUGINS", None)
        (Path(tmp) / "a").mkdir()
        (Path(tmp) / "b").mkdir()
        with (
            served(CLI, Path(tmp) / "a", env=env) as (plain, _p1),
            served(CLI, Path(tmp) / "b", "--plugin", "confusion-matrix", env=env) as (plugged, _p2),
        ):
            runs = {plain: fill(plain), plugged: fill(plugged)}
            results: dict[str, list[tuple[float, float, float | None]]] = {plain: [], plugged: []}
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                measure(browser, plain, runs[plain], False)  # warm-up: the server's first requests, the disk cache
                measure(browser, plugged, runs[plugged], True)
                for i in range(args.repeat):
                    for url in (plain, plugged) if i % 2 == 0 else (plugged, plain):
                        results[url].append(measure(browser, url, runs[url], url == plugged))
                browser.close()

    def stats(url: str, i: int) -> tuple[float, str]:
        xs = sorted(x for r in results[url] if (x := r[i]) is not None)
        q = statistics.quantiles(xs, n=4) if len(xs) > 1 else [xs[0], xs[0], xs[0]]
        return statistics.median(xs), f"(p25-p75 {q[0]:.0f}-{q[2]:.0f})"

    print(
        f"run page in chromium, median of {args.repeat} loads each (fresh context, alternating); load: "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    for label, i in (("first paint", 0), ("run page ready", 1)):
        (a, sa), (b, sb) = stats(plain, i), stats(plugged, i)
        goal = " (goal <= 50)" if i == 0 else ""
        print(
            f"  {label:<15} without plugin {a:7.1f} ms {sa}   with confusion-matrix {b:7.1f} ms {sb}   "
            f"added {b - a:+6.1f} ms{goal}"
        )
    drawn, sd = stats(plugged, 2)
    print(
        f"  the plugin's matrix drawn at {drawn:.1f} ms {sd}, "
        f"{drawn - stats(plugged, 1)[0]:+.1f} ms after the page was ready"
    )


if __name__ == "__main__":
    main()
