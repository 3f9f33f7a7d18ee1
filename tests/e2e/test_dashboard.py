"""What a person sees: the dashboard in Debian's chromium against a real server and real training runs."""

from __future__ import annotations

import csv
import io
import re
import time
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.support import CELL_COLOR_JS, Dashboard, shot, terminal_lines

pytestmark = pytest.mark.e2e

XSS_NAME = "<img src=x onerror=alert(1)>"


def select_run(page: Any, run_id: str) -> None:
    page.locator(f'[data-run-id="{run_id}"]').click()
    page.wait_for_url(re.compile(rf"/runs/{re.escape(run_id)}$"))


def wait_terminal(page: Any, pred: Any, timeout: float = 30.0) -> list[str]:
    deadline = time.monotonic() + timeout
    lines: list[str] = []
    while time.monotonic() < deadline:
        lines = terminal_lines(page)
        if pred(lines):
            return lines
        time.sleep(0.2)
    raise AssertionError("terminal never got there; it shows:\n" + "\n".join(lines[-40:]))


def chart_points(page: Any, key: str) -> int:
    value = page.locator(f'[data-metric-key="{key}"]').get_attribute("data-points")
    return int(value or 0)


def test_live_run_terminal_chart_and_completion(dashboard: Dashboard, page: Any) -> None:
    dashboard.start_run("e2e-train", "40", "0.1")
    run_id = dashboard.run_id("e2e-train")
    page.goto(dashboard.url)
    # the run appears in the list with its live badge
    row = page.locator(f'[data-run-id="{run_id}"]')
    row.wait_for(timeout=15_000)
    assert "RUNNING" in row.inner_text()
    select_run(page, run_id)
    # a chart gains points while the run is going
    page.locator('[data-metric-key="loss"]').wait_for(timeout=20_000)
    first = chart_points(page, "loss")
    page.wait_for_function(
        "([n]) => Number(document.querySelector('[data-metric-key=\"loss\"]').dataset.points) > n",
        arg=[first],
        timeout=15_000,
    )
    assert page.get_by_test_id("log-indicator").inner_text().strip().endswith("Live")
    shot(page, "01-running")
    # after the run ends: Completed, the final tqdm state drawn in place, coloured text
    dashboard.wait_status(run_id, "completed", timeout=60)
    page.wait_for_function(
        "() => document.querySelector('[data-testid=log-indicator]').textContent.includes('Completed')",
        timeout=15_000,
    )
    lines = wait_terminal(page, lambda ls: any("TRAINING DONE" in x for x in ls))
    for epoch in (0, 1):
        bars = [x for x in lines if x.startswith(f"epoch {epoch}:")]
        assert len(bars) == 1, bars  # redrawn in place, not one line per update
        assert "100%" in bars[0] and "40/40" in bars[0], bars
    colour = page.evaluate(CELL_COLOR_JS, "TRAINING START")
    assert colour is not None and colour["palette"] and colour["color"] == 2, colour  # ANSI green
    red = page.evaluate(CELL_COLOR_JS, "WARNING: learning rate")
    assert red is not None and red["palette"] and red["color"] == 1, red
    shot(page, "02-completed")


def test_navigate_away_and_back_keeps_full_history_once(dashboard: Dashboard, page: Any) -> None:
    dashboard.start_run("e2e-long", "30", "0.1")
    dashboard.start_run("e2e-short", "3", "0.01")
    long_id = dashboard.run_id("e2e-long")
    short_id = dashboard.run_id("e2e-short")
    page.goto(f"{dashboard.url}/runs/{long_id}")
    wait_terminal(page, lambda ls: any(x.startswith("epoch 0:") for x in ls))
    select_run(page, short_id)
    time.sleep(1.5)  # the long run keeps writing meanwhile
    select_run(page, long_id)
    dashboard.wait_status(long_id, "completed", timeout=60)
    lines = wait_terminal(page, lambda ls: any("TRAINING DONE" in x for x in ls))
    expected_once = [
        "TRAINING START model=tiny-mlp",
        "epoch 0 done",
        "epoch 1 done",
        "ERROR: simulated",
        "TRAINING DONE",
    ]
    for needle in expected_once:
        hits = [x for x in lines if x.startswith(needle)]
        assert len(hits) == 1, (needle, lines)
    non_empty = [x for x in lines if x.strip()]
    assert len(non_empty) == len(set(non_empty)), "duplicated lines in the terminal"
    # the same through a reload (a deep link)
    page.reload()
    lines2 = wait_terminal(page, lambda ls: any("TRAINING DONE" in x for x in ls))
    assert [x for x in lines2 if x.strip()] == non_empty
    shot(page, "03-back-to-run")


def test_lines_view_filters_errors_and_downloads_csv(dashboard: Dashboard, page: Any) -> None:
    proc = dashboard.start_run("e2e-lines", "5", "0.01")
    run_id = dashboard.run_id("e2e-lines")
    assert proc.wait(60) == 0
    dashboard.wait_status(run_id, "completed")
    page.goto(f"{dashboard.url}/runs/{run_id}")
    page.get_by_role("tab", name="LINES").click()
    page.get_by_label("level").select_option("error")
    lines = page.get_by_test_id("lines")
    lines.locator(".line[data-level]").first.wait_for(timeout=15_000)
    levels = lines.locator(".line[data-level]").evaluate_all("els => els.map(e => e.dataset.level)")
    assert levels and all(lv.upper() == "ERROR" for lv in levels), levels
    assert "simulated failure to read shard 7" in lines.inner_text()
    shot(page, "04-lines-errors")
    with page.expect_download() as dl:
        page.locator('a[data-format="csv"]').click()
    text = Path(dl.value.path()).read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    assert any("simulated failure to read shard 7" in " ".join(r) for r in rows), rows
    assert not any("TRAINING START" in " ".join(r) for r in rows), "the CSV ignores the level filter"


def test_run_name_with_markup_renders_as_text(dashboard: Dashboard, page: Any) -> None:
    proc = dashboard.start_run(XSS_NAME, "2", "0.01")
    run_id = dashboard.run_id(XSS_NAME)
    page.goto(f"{dashboard.url}/runs/{run_id}")
    row = page.locator(f'[data-run-id="{run_id}"]')
    row.wait_for(timeout=15_000)
    assert XSS_NAME in row.inner_text()
    assert page.locator("img").count() == 0
    assert page.get_by_text(XSS_NAME).first.is_visible()
    proc.wait(60)
    shot(page, "05-markup-name")


def test_empty_state(dashboard: Dashboard, page: Any) -> None:
    page.goto(dashboard.url)
    page.get_by_text("no runs yet").wait_for(timeout=10_000)
    shot(page, "00-empty")


def test_system_metrics_are_drawn_against_the_time_since_the_start(dashboard: Dashboard, page: Any) -> None:
    """The sampler's ``sys/*`` series are stepped by the clock (epoch milliseconds): on the STEP axis they are drawn
    against the time since the run started ("4s", not "1.80e+12"), on the run page and overlaid in compare, where
    they come after the training metrics."""
    ids = []
    for name in ("sys-a", "sys-b"):
        dashboard.start_run(name, "12", "0.25")  # ~6 s: a few system samples
        ids.append(dashboard.run_id(name))
    for run_id in ids:
        dashboard.wait_status(run_id, "completed", timeout=60)
    page.goto(f"{dashboard.url}/runs/{ids[0]}")
    cpu = page.locator('[data-metric-key="sys/cpu_percent"]')
    cpu.wait_for(timeout=20_000)
    assert cpu.get_attribute("data-x-mode") == "elapsed"
    assert page.locator('[data-metric-key="loss"]').get_attribute("data-x-mode") == "step"

    page.goto(f"{dashboard.url}/compare?runs={ids[0]},{ids[1]}")
    overlaid = page.locator('.xp-chart[data-chart-key="sys/cpu_percent"]')
    overlaid.wait_for(timeout=20_000)
    assert overlaid.get_attribute("data-x-kind") == "elapsed"
    assert "(%)" in overlaid.locator(".xp-chart-title").inner_text()
    keys = page.eval_on_selector_all(".xp-chart", "els => els.map(e => e.dataset.chartKey)")
    assert keys.index("loss") < min(i for i, k in enumerate(keys) if k.startswith("sys/")), keys
    assert page.locator('.xp-chart[data-chart-key="loss"]').get_attribute("data-x-kind") == "step"
