"""Issue 25 in chromium: 10,000 runs (written through the store before the server starts) — the dashboard's
search finds the oldest run and its list says how many it shows of how many; the group page's numbers are
the API's, which are a direct computation over every run; compare draws 100 runs. Screenshots go to
``test-output/e2e/`` (and ``/tmp/shots`` when it exists)."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.support import ensure_bundle, shot
from tests.support.many_runs import Spec, seed_data_dir
from tests.support.servers import ServerProcess

pytestmark = pytest.mark.e2e

SPEC = Spec(count=10_000, project="many", seeds=3)
SHOTS = Path("/tmp/shots")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    ensure_bundle()
    data = tmp_path_factory.mktemp("many_runs")
    seed_data_dir(data, SPEC)
    proc = ServerProcess(data_dir=data, db_url=None).start(timeout=180)  # a loaded machine, 10,000 runs
    try:
        yield proc
    finally:
        proc.stop()


def api(server: ServerProcess, path: str, **params: Any) -> Any:
    resp = httpx.get(server.url + path, params=params, timeout=60)
    assert resp.status_code == 200, resp.text
    return resp.json()


def also_shot(page: Any, name: str) -> None:
    shot(page, name)
    if SHOTS.is_dir():
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=False)


def test_dashboard_search_finds_the_oldest_of_ten_thousand(server: ServerProcess, page: Any) -> None:
    page.goto(server.url + "/")
    more = page.get_by_test_id("runlist-more")
    more.wait_for(timeout=20_000)
    assert "showing 200 of 10,000 — narrow the filter or" in more.inner_text()
    also_shot(page, "many-dashboard")
    page.get_by_label("filter runs").fill("00000")
    oldest = page.locator(f'.rows [data-run-id="{SPEC.run_id(0)}"]')
    oldest.wait_for(timeout=15_000)
    assert page.locator(".rows [data-run-id]").count() == 1
    assert page.get_by_test_id("runlist-more").count() == 0  # all that match are shown: nothing to say
    # the next page is one click away, not a silent end
    page.get_by_label("filter runs").fill("")
    more.wait_for()
    page.get_by_role("button", name="SHOW 200 MORE").click()
    page.wait_for_function("() => document.querySelectorAll('.rows [data-run-id]').length === 400", timeout=15_000)
    assert "showing 400 of 10,000" in more.inner_text()


def test_group_of_ten_thousand_shows_the_apis_mean(server: ServerProcess, page: Any) -> None:
    answer = api(server, "/api/run-groups", project="many", by="config.seed", metric="loss")
    page.goto(f"{server.url}/group?project=many&by=config.seed")
    title = page.get_by_test_id("group-title")
    page.wait_for_function(
        "() => /GROUP 10,000 RUNS/.test(document.querySelector('[data-testid=group-title]')?.textContent ?? '')",
        timeout=30_000,
    )
    assert "10,000" in title.inner_text()
    note = page.locator('[data-testid=group-chart][data-metric="loss"] [data-testid=group-chart-note]')
    note.wait_for(timeout=60_000)
    for g in answer["groups"]:
        row = note.locator(f'[data-group="{g["label"]}"]')
        series = g["series"]
        assert row.get_attribute("data-last-step") == str(series["step"][-1])
        assert float(row.get_attribute("data-last-value") or "nan") == series["mean"][-1]
        assert f"{g['with_metric']:,} of {g['runs']:,} runs logged it" in row.inner_text()
        # and the API's mean is the direct computation over every run of the group
        step = series["step"][-1]
        members = [i for i in range(SPEC.count) if i % SPEC.seeds == int(g["label"].split("=")[1])]
        values = [SPEC.loss(i, step) for i in members if step < SPEC.steps_of(i)]
        assert series["count"][-1] == len(values)
        assert series["mean"][-1] == pytest.approx(sum(values) / len(values), rel=1e-12)
    groups = page.get_by_test_id("groups")
    assert groups.locator("[data-group]").count() == 3
    assert "(3,334 runs)" in groups.locator('[data-group="seed=0"]').inner_text()
    group = groups.locator('[data-group="seed=0"]')
    group.locator("summary").click()
    assert "showing the newest 200 of 3,334 runs" in group.inner_text()
    also_shot(page, "many-group")


def test_compare_draws_a_hundred_runs(server: ServerProcess, page: Any) -> None:
    ids = [r["id"] for r in api(server, "/api/runs", project="many", limit=100)["runs"]]
    page.goto(f"{server.url}/compare?runs={','.join(ids)}")
    page.get_by_role("heading", name=re.compile("COMPARING 100 RUNS")).wait_for(timeout=30_000)
    legend = page.get_by_test_id("compare-legend")
    assert legend.locator(".xp-swatch").count() == 100
    colours = legend.locator(".xp-swatch").evaluate_all("els => els.map(e => getComputedStyle(e).backgroundColor)")
    assert len(set(colours)) == 100, "the colours repeat"
    chart = page.locator('.xp-chart[data-chart-key="loss"]')
    chart.wait_for(timeout=30_000)
    page.wait_for_function(
        "() => Number(document.querySelector('.xp-chart[data-chart-key=\"loss\"]')?.dataset.points) >= 10",
        timeout=30_000,
    )
    canvas = chart.locator("canvas").first
    bb = canvas.bounding_box()
    assert bb is not None
    page.mouse.move(bb["x"] + bb["width"] * 0.3, bb["y"] + bb["height"] * 0.5)
    names = [r["name"] for r in api(server, "/api/runs", project="many", limit=100)["runs"]]
    page.wait_for_function(
        "(n) => (document.querySelector('.xp-chart[data-chart-key=\"loss\"] .xp-readout')?.textContent ?? '')"
        ".includes(n)",
        arg=names[-1],
        timeout=15_000,
    )
    readout = chart.locator(".xp-readout").inner_text()
    assert all(n in readout for n in names), "every compared run is a series of the chart"
    # 100 runs: the config diff is a row per run, a column per differing key
    diff = page.get_by_test_id("config-diff")
    assert diff.get_attribute("data-transposed") == "true"
    assert diff.locator("tbody tr").count() == 100
    keys = diff.locator("thead th[data-key]").evaluate_all("hs => hs.map(h => h.dataset.key)")
    assert sorted(keys) == ["lr", "model", "seed"]
    also_shot(page, "many-compare")


def test_brushing_the_parallel_coordinates_filters_the_config_diff(server: ServerProcess, page: Any) -> None:
    runs = api(server, "/api/runs", project="many", limit=100)["runs"]
    page.goto(f"{server.url}/compare?runs={','.join(r['id'] for r in runs)}")
    axis = page.locator('[data-brush-axis="lr"]')
    axis.wait_for(timeout=60_000)
    axis.evaluate("e => e.scrollIntoView({ block: 'center' })")  # the mouse reaches only what is on screen
    page.wait_for_timeout(300)
    box = axis.bounding_box()
    line = page.locator('.xp-pc g[data-axis="lr"] line').bounding_box()  # the axis itself (the hit area is taller)
    assert box is not None and line is not None
    x = box["x"] + box["width"] / 2
    # from the top of the lr axis (3e-3) down 35 % of it, in steps (the page must not move the axis mid-drag);
    # the line's box is read before the drag: after it, the config diff above shrinks and the chart moves up
    y_from, y_to = box["y"] + 1, box["y"] + box["height"] * 0.35
    page.mouse.move(x, y_from)
    page.mouse.down()
    page.mouse.move(x, box["y"] + box["height"] * 0.2, steps=5)
    page.mouse.move(x, y_to, steps=5)
    page.mouse.up()
    note = page.get_by_test_id("config-diff-brushed")
    note.wait_for(timeout=10_000)
    brushed = page.locator('.xp-pc g[data-brushed="true"]').evaluate_all("gs => gs.map(g => g.dataset.runId)")
    assert 0 < len(brushed) < 100
    assert note.inner_text().startswith(f"{len(brushed)} of 100 runs")
    # the diff lists exactly the brushed runs, and a brush on lr keeps whole lr values (a range of the axis)
    rows = page.get_by_test_id("config-diff").locator("tbody tr")
    assert rows.evaluate_all("rs => rs.map(r => r.dataset.runId)") == [r["id"] for r in runs if r["id"] in brushed]
    lrs = {r["id"]: r["config"]["lr"] for r in runs}
    assert not {lrs[i] for i in brushed} & {lr for i, lr in lrs.items() if i not in brushed}
    # the dragged pixels as lr values (the axis: min..max of the runs' lr, linear under two decades, else log):
    # the brush selects exactly the runs whose lr lies between them
    low, high = min(lrs.values()), max(lrs.values())
    log = low > 0 and high / low > 100

    def value_at(y: float) -> float:
        p = min(1.0, max(0.0, 1 - (y - line["y"]) / line["height"]))
        return float(10 ** (math.log10(low) + p * math.log10(high / low)) if log else low + p * (high - low))

    lo, hi = sorted((value_at(y_from), value_at(y_to)))
    expected = {i for i, lr in lrs.items() if lo - 1e-12 <= lr <= hi + 1e-12}
    assert set(brushed) == expected, (lo, hi, sorted({lrs[i] for i in brushed}))
    also_shot(page, "many-compare-brushed")


def test_compare_of_more_runs_than_an_address_holds(server: ServerProcess, page: Any, browser: Any) -> None:
    """A selection built a screen at a time in the table ('a' adds the loaded runs in view), past what an address
    holds: COMPARE opens all of them through a selection kept in this browser, and says so; the same link in
    another browser says plainly that it cannot know the runs."""
    page.goto(f"{server.url}/table?project=many")
    grid = page.get_by_role("grid", name="runs table")
    page.locator(".xp-row").first.wait_for(timeout=30_000)
    selected = 0
    for row in (0, 6_000):
        grid.evaluate("(g, y) => { g.scrollTop = y; }", row * 22)
        page.locator(f'.xp-row[aria-rowindex="{row + 2}"]').wait_for(timeout=30_000)
        page.wait_for_function("() => !document.querySelector('.xp-row-pending')", timeout=30_000)
        grid.focus()
        page.keyboard.press("a")
        shown = page.locator(".xp-row").count()
        assert shown > 0
        page.wait_for_function(
            "(n) => /^(\\d+) selected$/.test(document.querySelector('.xp-selbar .amber')?.textContent ?? '')"
            " && Number(document.querySelector('.xp-selbar .amber').textContent.split(' ')[0]) > n",
            arg=selected,
            timeout=10_000,
        )
        selected = int(page.locator(".xp-selbar .amber").inner_text().split()[0])
    assert selected > 200, selected  # more than an address holds (URL_IDS)
    page.get_by_role("button", name=re.compile(r"^COMPARE \d+")).click()
    page.wait_for_url(re.compile(r"/compare\?sel=[a-z0-9]+$"), timeout=15_000)
    page.get_by_role("heading", name=f"COMPARING {selected} RUNS").wait_for(timeout=60_000)
    note = page.get_by_test_id("selection-note")
    assert f"a selection of {selected} runs" in note.inner_text() and "this browser" in note.inner_text()
    assert page.get_by_test_id("compare-legend").locator(".xp-legend-item").count() == selected
    # another browser (a fresh context: its own storage) knows nothing of it, and says so
    other = browser.new_context()
    try:
        elsewhere = other.new_page()
        elsewhere.goto(page.url)
        elsewhere.get_by_test_id("selection-unknown").wait_for(timeout=30_000)
        assert "another browser" in elsewhere.get_by_test_id("selection-unknown").inner_text()
    finally:
        other.close()
    # the fixture's full-page screenshot of ~300 runs' cards and charts outlasts its 30 s on a loaded machine
    page.goto("about:blank")
