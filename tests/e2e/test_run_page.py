"""The run page as a person uses it (issue 14): the metrics <-> terminal time line (click the spike, see what
the terminal said then), panels resized / folded / pinned and still so after a reload (and in a fresh browser:
the layout is on the server), system metrics charted with units, search highlights, and the layout at a laptop
and a phone size. One real server and one real SDK run serve the whole module."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.support import OUTPUT, ensure_bundle
from tests.support.servers import ServerProcess

pytestmark = pytest.mark.e2e

SPIKE = 40
STEPS = 60
SCRIPT = r"""
import math, time, trainboard
with trainboard.TrainingMonitor(run_name="spiky", project="e2e-page", system_metrics=False) as m:
    for step in range(60):
        loss = 50.0 if step == 40 else math.exp(-step / 20)
        print(f"step {step:02d} loss {loss:.3f}" + (" SPIKE" if step == 40 else ""), flush=True)
        time.sleep(0.05)  # the line is captured (and stamped) before the metric of its step is logged
        metrics = {
            "train/loss": loss,
            "sys/gpu0/utilization": 40 + step / 2,
            "sys/gpu0/memory_used": 2**30 * (1 + step / 60),
        }
        if step % 10 == 0:
            metrics["val/loss"] = loss * 1.1
        m.log_metrics(metrics, step=step)
        time.sleep(0.05)
"""

REPLAY_LINES_JS = """() => {
  const t = window.trainboard && window.trainboard.replay;
  if (!t) return null;
  const b = t.buffer.active;
  const out = [];
  for (let i = 0; i < b.length; i++) out.push(b.getLine(i).translateToString(true));
  return out.filter((l) => l.trim() !== '');
}"""


@pytest.fixture(scope="module")
def run_page(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(server url, run id) of a finished SDK run with a loss spike at step 40."""
    ensure_bundle()
    tmp = tmp_path_factory.mktemp("run_page")
    server = ServerProcess(data_dir=tmp / "data", db_url=None).start()
    try:
        script = tmp / "spiky.py"
        script.write_text(SCRIPT)
        env = server.env() | {"TRAINBOARD_DATA": str(tmp / "client")}
        done = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, timeout=120)
        assert done.returncode == 0, done.stderr
        run_id = str(httpx.get(f"{server.url}/api/runs").json()["runs"][0]["id"])
        yield server.url, run_id
    finally:
        server.stop()


@pytest.fixture
def new_page(browser: Any) -> Iterator[Any]:
    """Factory of pages in fresh contexts (a fresh browser profile each): new_page(width, height, scheme, theme),
    `scheme` the browser's preference and `theme` the choice saved by the page's theme button (None: none)."""
    contexts: list[Any] = []
    errors: list[str] = []

    def make(width: int = 1440, height: int = 900, scheme: str = "dark", theme: str | None = None) -> Any:
        ctx = browser.new_context(viewport={"width": width, "height": height}, color_scheme=scheme)
        if theme:
            ctx.add_init_script(f"localStorage.setItem('trainboard.theme', '{theme}')")
        contexts.append(ctx)
        pg = ctx.new_page()
        pg.on("pageerror", lambda e: errors.append(str(e)))
        return pg

    yield make
    for ctx in contexts:
        ctx.close()
    assert not errors, errors


def open_run(page: Any, url: str, run_id: str) -> None:
    page.goto(f"{url}/runs/{run_id}")
    page.wait_for_function(
        "([n]) => Number(document.querySelector('[data-metric-key=\"train/loss\"]')?.dataset.points) === n",
        arg=[STEPS],
        timeout=30_000,
    )


def wait_live_terminal(page: Any) -> None:
    """Until the live terminal holds the run's last line."""
    page.wait_for_function(
        "() => { const t = window.trainboard && window.trainboard.terminal; if (!t) return false;"
        " const b = t.buffer.active; for (let i = 0; i < b.length; i++)"
        " if (b.getLine(i).translateToString(true).startsWith('step 59')) return true; return false; }",
        timeout=15_000,
    )


def shot(page: Any, name: str) -> None:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(OUTPUT / f"run-page-{name}.png"))


def click_step(page: Any, key: str, step: int, last_step: int) -> None:
    """Click a chart where `step` is drawn (x is the step axis, from 0 to the last step)."""
    box = page.locator(f'[data-metric-key="{key}"] .u-over').first.bounding_box()
    x = box["x"] + box["width"] * step / last_step
    page.mouse.click(x, box["y"] + box["height"] / 2)


def test_click_the_spike_shows_the_terminal_of_that_moment_then_back_to_live(
    run_page: tuple[str, str], new_page: Any
) -> None:
    url, run_id = run_page
    page = new_page()
    open_run(page, url, run_id)
    click_step(page, "train/loss", SPIKE, STEPS - 1)

    bar = page.get_by_test_id("moment-bar")
    bar.wait_for(timeout=10_000)
    assert re.search(rf"viewing step {SPIKE} at \d\d:\d\d:\d\d", bar.inner_text()), bar.inner_text()
    # the terminal shows the screen as it was then: the spike's line is the last one printed
    page.wait_for_selector("[data-testid=terminal-replay][data-replayed]", timeout=15_000)
    screen = page.evaluate(REPLAY_LINES_JS)
    assert screen[-1].startswith(f"step {SPIKE} loss 50.000 SPIKE"), screen[-5:]
    assert not any(line.startswith(f"step {SPIKE + 1}") for line in screen)
    shot(page, "moment-terminal")

    # LINES marks what was printed at that step
    page.get_by_role("tab", name="LINES").click()
    marked = page.locator(".line.at-moment")
    marked.first.wait_for(timeout=10_000)
    assert marked.count() == 1
    assert "SPIKE" in marked.inner_text() and f"step {SPIKE}" in marked.inner_text()
    assert f"step {SPIKE}" in page.get_by_test_id("lines-moment").inner_text()
    shot(page, "moment-lines")

    # back to live: the whole output again, nothing marked
    page.get_by_role("button", name=re.compile("back to live")).click()
    bar.wait_for(state="detached", timeout=5_000)
    assert page.locator(".line.at-moment").count() == 0
    page.get_by_role("tab", name="TERMINAL").click()
    wait_live_terminal(page)
    assert page.locator("[data-testid=terminal-replay]").count() == 0


def test_resized_folded_and_pinned_panels_persist_and_follow_the_user(run_page: tuple[str, str], new_page: Any) -> None:
    url, run_id = run_page
    page = new_page()
    open_run(page, url, run_id)
    metrics = page.locator(".p-metrics")
    before = metrics.bounding_box()["height"]
    handle = page.get_by_role("separator", name="resize the charts and the log").bounding_box()
    page.mouse.move(handle["x"] + 50, handle["y"] + 2)
    page.mouse.down()
    page.mouse.move(handle["x"] + 50, handle["y"] + 122, steps=6)
    page.mouse.up()
    resized = metrics.bounding_box()["height"]
    assert abs(resized - (before + 120)) <= 3, (before, resized)
    page.get_by_role("button", name="collapse EVENTS").click()
    page.get_by_role("button", name="pin val/loss").first.click()
    assert page.locator('[data-section="pinned"] [data-metric-key="val/loss"]').count() == 1
    time.sleep(1.0)  # saved to the server after a short pause

    page.reload()
    open_run(page, url, run_id)
    assert abs(page.locator(".p-metrics").bounding_box()["height"] - resized) <= 2
    assert page.get_by_role("button", name="expand EVENTS").get_attribute("aria-expanded") == "false"
    assert page.locator('[data-section="pinned"] [data-metric-key="val/loss"]').count() == 1

    # a fresh browser (no local storage): the layout comes from the server
    other = new_page()
    open_run(other, url, run_id)
    other.get_by_role("button", name="expand EVENTS").wait_for(timeout=10_000)
    other.locator('[data-section="pinned"] [data-metric-key="val/loss"]').wait_for(timeout=10_000)
    assert abs(other.locator(".p-metrics").bounding_box()["height"] - resized) <= 2

    # undo, so the other tests see the default layout
    other.get_by_role("button", name="expand EVENTS").click()
    other.get_by_role("button", name="unpin val/loss").first.click()
    time.sleep(1.0)


def test_system_metrics_are_charts_with_units_and_sparse_series_stay_raw(
    run_page: tuple[str, str], new_page: Any
) -> None:
    url, run_id = run_page
    page = new_page(1920, 1080)
    open_run(page, url, run_id)
    util = page.locator('[data-section="sys/gpu0"] [data-metric-key="sys/gpu0/utilization"]')
    util.wait_for(timeout=15_000)
    assert "(%)" in util.locator(".chart-title").inner_text()
    mem = page.locator('[data-metric-key="sys/gpu0/memory_used"] .chart-title')
    assert "(GB)" in mem.inner_text()
    # filtering by "sys" finds them
    page.get_by_label("filter metric keys").fill("sys")
    page.wait_for_function("() => !document.querySelector('[data-metric-key=\"train/loss\"]')")
    assert page.locator("[data-metric-key^='sys/']").count() == 2
    page.get_by_label("filter metric keys").fill("")
    # 6 validation points are shown raw, the 60-point loss is smoothed (raw still drawn)
    assert page.locator('[data-metric-key="val/loss"]').get_attribute("data-smoothed") == "false"
    assert page.locator('[data-metric-key="train/loss"]').get_attribute("data-smoothed") == "true"
    # the readout shows the raw value and the smoothed one
    box = page.locator('[data-metric-key="train/loss"] .u-over').bounding_box()
    page.mouse.move(box["x"] + box["width"] * SPIKE / (STEPS - 1), box["y"] + 20)
    readout = page.locator('[data-metric-key="train/loss"] .chart-readout').inner_text()
    assert re.search(r"step 40\s+raw 50(\.0+)? · ema \d", readout), readout
    shot(page, "1920-dark")


def test_search_highlights_lines_and_counts_terminal_matches(run_page: tuple[str, str], new_page: Any) -> None:
    url, run_id = run_page
    page = new_page()
    open_run(page, url, run_id)
    wait_live_terminal(page)
    search = page.get_by_label("search terminal")
    search.fill("loss 0.0")
    count = page.get_by_test_id("search-count")
    count.wait_for(timeout=5_000)
    first = count.inner_text()
    total = re.fullmatch(r"1 of (\d+)", first)
    assert total and int(total.group(1)) > 5, first
    search.press("Enter")
    assert count.inner_text() == f"2 of {total.group(1)}"
    search.press("Shift+Enter")
    assert count.inner_text() == f"1 of {total.group(1)}"

    page.get_by_role("tab", name="LINES").click()
    page.get_by_label("search lines").fill("spike")
    page.locator(".line mark").first.wait_for(timeout=10_000)
    assert page.locator(".line mark").all_inner_texts() == ["SPIKE"]


@pytest.mark.parametrize("scheme", ["dark", "light"])
def test_laptop_shows_the_charts_and_a_phone_does_not_scroll_sideways(
    run_page: tuple[str, str], new_page: Any, scheme: str
) -> None:
    url, run_id = run_page
    # a browser preferring light gets the light theme once the user picks AUTO; dark stays the default
    default = new_page(1440, 900, scheme)
    open_run(default, url, run_id)
    assert default.evaluate("document.documentElement.dataset.theme") == "dark"
    laptop = new_page(1440, 900, scheme, theme="auto")
    open_run(laptop, url, run_id)
    assert laptop.evaluate("document.documentElement.dataset.theme") == scheme
    assert laptop.get_by_role("button", name="colour theme").inner_text() == "◐ AUTO"
    chart = laptop.locator('[data-metric-key="train/loss"]').bounding_box()
    assert chart["y"] >= 0 and chart["y"] + chart["height"] <= 900, chart
    assert laptop.evaluate("document.documentElement.scrollWidth") <= 1440
    shot(laptop, f"1440-{scheme}")

    phone = new_page(390, 844, scheme, theme="auto")
    open_run(phone, url, run_id)
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    first_chart = phone.locator("[data-metric-key]").first.bounding_box()
    runs = phone.locator(".p-runs").bounding_box()
    assert runs["y"] < first_chart["y"] < 844  # the run list first, the charts next, still on the first screen
    shot(phone, f"390-{scheme}")
