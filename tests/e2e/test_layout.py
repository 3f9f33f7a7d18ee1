"""The run page's layout and each chart's own settings, as a person sees them in chromium (issue 25): a saved
layout (a folded panel, dragged dividers, or sizes from a bigger screen) never hides a panel after a reload;
RESET LAYOUT brings the defaults back; at 390 px the run list comes first, then the charts, then the log; the
live indicator does not cry "DOWN" on a page that started no live connection; one chart's LOG switch leaves the
other charts linear, says how many values it cannot draw, and survives a reload; checkpoint actions are in view
at 1920 px. One real server and one real SDK run serve the module. Screenshots: test-output/e2e/layout-*.png."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.support import ensure_bundle, shot
from tests.support.servers import ServerProcess

pytestmark = pytest.mark.e2e

PROJECT = "e2e-layout"
NEGATIVE = 5  # values <= 0 of train/margin: a log axis cannot draw them
SCRIPT = r"""
import pathlib, sys, trainboard
ckpt = pathlib.Path(sys.argv[1])
ckpt.mkdir(parents=True, exist_ok=True)
LONG = "python train.py --data /datasets/imagenet/2012/train --out /checkpoints/resnet50/long-experiment-name-" * 2
with trainboard.TrainingMonitor(
    run_name="layout-run", project="e2e-layout", system_metrics=False, config={"command": LONG, "lr": 0.001}
) as m:
    for step in range(80):
        m.log_metrics(
            {
                "train/loss": 2.0 * 0.97**step,
                # steps 0-4 are <= 0: hidden on a log axis, and counted
                "train/margin": step - 4 if step < 5 else 0.1 * step,
                "sys/cpu_percent": 96 + (step % 5),
                "sys/proc_rss": 36_175_872 + 1024 * step,
            },
            step=step,
        )
        if step % 40 == 39:
            path = ckpt / f"model_{step}.pt"
            path.write_bytes(b"x" * 1000)
            m.save_checkpoint(str(path), metrics={"loss": 0.5}, step=step)
"""

PANELS = ["RUNS", "SYSTEM", "EVENTS", "METRICS", "LOG", "CONFIG", "CHECKPOINTS", "ACTIONS"]


@pytest.fixture(scope="module")
def layout_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(server url, run id) of a finished SDK run with metrics, negative values and two checkpoints."""
    ensure_bundle()
    tmp = tmp_path_factory.mktemp("layout")
    server = ServerProcess(data_dir=tmp / "data", db_url=None).start()
    try:
        script = tmp / "run.py"
        script.write_text(SCRIPT)
        env = server.env() | {"TRAINBOARD_DATA": str(tmp / "client")}
        done = subprocess.run(
            [sys.executable, str(script), str(tmp / "ckpt")], env=env, capture_output=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        run_id = str(httpx.get(f"{server.url}/api/runs").json()["runs"][0]["id"])
        yield server.url, run_id
    finally:
        server.stop()


@pytest.fixture
def new_page(browser: Any) -> Iterator[Any]:
    """Factory of pages in fresh browser profiles; page errors fail the test."""
    contexts: list[Any] = []
    errors: list[str] = []

    def make(width: int, height: int) -> Any:
        ctx = browser.new_context(viewport={"width": width, "height": height})
        contexts.append(ctx)
        pg = ctx.new_page()
        pg.on("pageerror", lambda e: errors.append(str(e)))
        return pg

    yield make
    for ctx in contexts:
        ctx.close()
    assert not errors, errors


def save_server_layout(url: str, run_page: dict[str, Any]) -> None:
    res = httpx.put(f"{url}/api/projects/{PROJECT}/layout", json={"layout": {"run_page": run_page}})
    assert res.status_code == 200, res.text


def open_run(page: Any, url: str, run_id: str) -> None:
    page.goto(f"{url}/runs/{run_id}")
    page.locator('[data-metric-key="train/loss"]').wait_for(timeout=20_000)
    page.wait_for_timeout(600)  # the server's copy of the layout has been applied


def panel_box(page: Any, title: str) -> dict[str, float]:
    box = page.get_by_role("region", name=title, exact=False).first.bounding_box()
    assert box is not None, f"panel {title} is not drawn"
    return dict(box)


def assert_every_panel_visible(page: Any, width: int, height: int) -> None:
    for title in PANELS:
        box = panel_box(page, title)
        assert box["width"] >= 100, (title, box)
        assert box["height"] >= 18, (title, box)  # at least its header
        assert box["x"] >= 0 and box["x"] + box["width"] <= width + 1, (title, box)
        assert box["y"] >= 0 and box["y"] + box["height"] <= height + 1, (title, box)


def test_a_saved_layout_with_a_folded_panel_and_dragged_dividers_hides_nothing_after_reload(
    layout_run: tuple[str, str], new_page: Any
) -> None:
    url, run_id = layout_run
    save_server_layout(url, {})
    page = new_page(1440, 900)
    open_run(page, url, run_id)
    page.get_by_label("collapse EVENTS").click()
    ckpt_width = panel_box(page, "CHECKPOINTS")["width"]
    # the charts / log divider dragged to the bottom edge, the runs column dragged far right, the right column
    # dragged wider
    drags = (
        ("resize the charts and the log", (700, 899)),
        ("resize the config and checkpoints column", (900, 400)),
        ("resize the runs column", (1400, 400)),
    )
    for label, to in drags:
        handle = page.get_by_role("separator", name=label).bounding_box()
        page.mouse.move(handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2)
        page.mouse.down()
        page.mouse.move(*to, steps=8)
        page.mouse.up()
    page.wait_for_timeout(800)  # saved (debounced) to the server
    page.reload()
    open_run(page, url, run_id)
    assert page.get_by_label("expand EVENTS").count() == 1  # still folded
    assert_every_panel_visible(page, 1440, 900)
    assert panel_box(page, "LOG")["height"] >= 100
    assert panel_box(page, "METRICS")["width"] >= 300
    assert panel_box(page, "CHECKPOINTS")["width"] > ckpt_width + 100
    shot(page, "layout-after-drag-1440")


def test_a_layout_saved_on_a_bigger_screen_is_clamped_and_reset_brings_the_defaults(
    layout_run: tuple[str, str], new_page: Any
) -> None:
    url, run_id = layout_run
    save_server_layout(url, {"sizes": {"metrics": 4000, "side": 3000, "info": 3000}, "collapsed": ["system"]})
    page = new_page(1440, 900)
    open_run(page, url, run_id)
    assert_every_panel_visible(page, 1440, 900)
    page.get_by_role("button", name="RESET LAYOUT").click()
    page.get_by_label("collapse SYSTEM").wait_for(timeout=5_000)  # unfolded again
    assert 250 <= panel_box(page, "RUNS")["width"] <= 340
    page.wait_for_timeout(800)
    stored = httpx.get(f"{url}/api/projects/{PROJECT}/layout").json()["layout"]["run_page"]
    assert stored["sizes"] == {} and stored["collapsed"] == []


def test_folded_side_panels_give_their_width_back(layout_run: tuple[str, str], new_page: Any) -> None:
    url, run_id = layout_run
    save_server_layout(url, {})
    page = new_page(1440, 900)
    open_run(page, url, run_id)
    before = panel_box(page, "METRICS")["width"]
    for title in ("CONFIG", "CHECKPOINTS", "BOOKMARKS", "ACTIONS"):  # every panel of the right column
        page.get_by_label(f"collapse {title}").click()
    page.wait_for_timeout(300)
    after = panel_box(page, "METRICS")["width"]
    assert after > before + 150, (before, after)
    save_server_layout(url, {})


def test_a_phone_shows_the_run_list_first_then_the_charts_then_the_log(
    layout_run: tuple[str, str], new_page: Any
) -> None:
    url, run_id = layout_run
    save_server_layout(url, {})
    page = new_page(390, 844)
    open_run(page, url, run_id)
    runs, charts, log = (panel_box(page, t)["y"] for t in ("RUNS", "METRICS", "LOG"))
    assert runs < charts < log, (runs, charts, log)
    assert runs < 200  # the list is on the first screen
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "layout-390")


def test_no_down_indicator_on_compare_or_group_while_the_server_is_up(
    layout_run: tuple[str, str], new_page: Any
) -> None:
    url, run_id = layout_run
    page = new_page(1440, 900)
    for path in (f"/compare?runs={run_id}", f"/group?runs={run_id}&by=config.lr"):
        page.goto(url + path)
        bar = page.locator("header.topbar")
        bar.wait_for(timeout=15_000)
        page.wait_for_timeout(2_500)  # time for a failed connection to show
        text = bar.inner_text()
        assert "DOWN" not in text, (path, text)
        assert "WS" in text, text
    # the run page does start one, and says it is live
    open_run(page, url, run_id)
    page.wait_for_function("() => document.querySelector('[data-live]')?.dataset.live === 'open'", timeout=10_000)


def test_one_charts_log_switch_leaves_the_others_linear_and_counts_what_it_cannot_draw(
    layout_run: tuple[str, str], new_page: Any
) -> None:
    url, run_id = layout_run
    page = new_page(1920, 1080)
    open_run(page, url, run_id)
    margin = page.locator('[data-metric-key="train/margin"]')
    page.get_by_label("log scale train/margin").click()
    margin.locator(".log-hidden").wait_for(timeout=5_000)
    assert margin.get_attribute("data-log") == "true"
    assert margin.locator(".log-hidden").inner_text() == f"{NEGATIVE} values ≤ 0 not drawn (log scale)"
    for other in ("train/loss", "sys/cpu_percent"):
        assert page.locator(f'[data-metric-key="{other}"]').get_attribute("data-log") == "false"
    # units: a process using 35 MB is shown in MB, not as 0.034 GB
    assert "(MB)" in page.locator('[data-metric-key="sys/proc_rss"] .chart-title').inner_text()
    page.reload()
    open_run(page, url, run_id)
    assert page.locator('[data-metric-key="train/margin"]').get_attribute("data-log") == "true"
    assert page.locator('[data-metric-key="train/loss"]').get_attribute("data-log") == "false"
    # the chart's own y bounds
    page.get_by_label("chart settings train/loss").click()
    page.get_by_label("y max train/loss").fill("5")
    page.get_by_label("y max train/loss").press("Enter")
    assert page.get_by_label("chart settings train/loss").get_attribute("class") == "btn tiny on"
    # and its own x axis: wall-clock time on this chart only
    page.get_by_label("x axis train/loss").get_by_role("button", name="WALL").click()
    page.wait_for_function("() => document.querySelector('[data-metric-key=\"train/loss\"]').dataset.xMode === 'wall'")
    assert page.locator('[data-metric-key="train/margin"]').get_attribute("data-x-mode") == "step"


@pytest.mark.parametrize(("width", "height"), [(1920, 1080), (1440, 900)])
def test_checkpoint_actions_and_titles_are_in_view(
    layout_run: tuple[str, str], new_page: Any, width: int, height: int
) -> None:
    url, run_id = layout_run
    save_server_layout(url, {})
    page = new_page(width, height)
    open_run(page, url, run_id)
    table = page.get_by_role("region", name="CHECKPOINTS")
    row = table.locator("tr[data-checkpoint-id]").first
    row.wait_for(timeout=15_000)
    body = table.locator(".panel-body").bounding_box()
    for label in ("[LOAD]", "[⤓]", "[DEL]"):
        b = row.get_by_text(label, exact=True).bounding_box()
        assert b is not None and b["x"] + b["width"] <= body["x"] + body["width"] + 1, (label, b, body)
    # a long config value wraps inside its column: nothing to scroll sideways to
    config = page.get_by_role("region", name="CONFIG").locator(".panel-body")
    config.get_by_text("long-experiment-name", exact=False).first.wait_for(timeout=5_000)
    assert config.evaluate("e => e.scrollWidth <= e.clientWidth + 1")
    # no chart title is cut: each title's text fits its box
    cut = page.eval_on_selector_all(".chart-title", "els => els.filter(e => e.scrollWidth > e.clientWidth + 1).length")
    assert cut == 0
    shot(page, f"layout-{width}")
