"""The experiments views in chromium: 30 runs made through the SDK; the runs table (sort by a metric, filter
expression, column picker, saved view), tags and notes, compare (overlay + config diff), group by seed, and
the 390 px layout."""

from __future__ import annotations

import math
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.support import ensure_bundle, shot
from tests.support.servers import ServerProcess

pytestmark = pytest.mark.e2e

PROJECT = "cifar"
LRS = [1e-4, 3e-4, 1e-3, 3e-3, 1e-2]
DEPTHS = [18, 50]

# Through the SDK, in a child process (the SDK's exit hooks stay out of pytest). Every config differs:
# ten (lr, depth, optimizer) settings, each run with seeds 0, 1 and 2.
SEED_SCRIPT = f"""
import math, sys
from trainboard import TrainingMonitor
LRS = {LRS!r}
DEPTHS = {DEPTHS!r}
for i in range(30):
    k, seed = i % 10, i // 10
    lr, depth = LRS[k % 5], DEPTHS[k // 5]
    optimizer = "adam" if k % 2 else "sgd"
    config = {{"lr": lr, "seed": seed, "model": {{"depth": depth, "width": 64}}, "optimizer": optimizer}}
    with TrainingMonitor(run_name=f"cifar-resnet{{depth}}-lr{{lr:g}}-seed{{seed}}-{{i:02d}}", config=config,
                         project="{PROJECT}", capture_output=False, system_metrics=False) as m:
        for step in range(0, 200, 10):
            loss = 2.0 * math.exp(-step * lr * 20) + 0.05 * seed + 0.01 * (i % 7)
            m.log_metrics({{"train/loss": loss, "val/loss": loss * 1.1 + 0.02, "val/acc": 1 - loss / 2.5}}, step=step)
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One server for the module, with the 30 runs (made once: the tests read and tag them, never delete)."""
    ensure_bundle()
    proc = ServerProcess(data_dir=tmp_path_factory.mktemp("experiments") / "data", db_url=None).start()
    try:
        subprocess.run([sys.executable, "-c", SEED_SCRIPT], env=proc.env(), check=True, timeout=120)
        deadline = time.monotonic() + 30
        while api(proc, "/api/runs", filter="status = completed", limit=1)["total"] < 30:
            assert time.monotonic() < deadline, "the 30 runs never completed on the server"
            time.sleep(0.2)
        yield proc
    finally:
        proc.stop()


def api(server: ServerProcess, path: str, **params: Any) -> Any:
    r = httpx.get(server.url + path, params=params, timeout=10)
    r.raise_for_status()
    return r.json()


def number(text: str) -> float:
    return float(text.strip())


def column_values(page: Any, col: str) -> list[str]:
    return [str(t) for t in page.locator(f'.xp-row [data-col="{col}"]').all_inner_texts()]


def wait_rows(page: Any, n: int) -> None:
    page.wait_for_function("(n) => document.querySelectorAll('.xp-row').length === n", arg=n, timeout=15_000)


def wait_settled(page: Any) -> None:
    """Until the grid shows the answer to its current query (while a new order or filter loads it is busy)."""
    page.wait_for_function("() => document.querySelector('[role=grid]')?.getAttribute('aria-busy') === 'false'")


def assert_sorted_header(page: Any, col: str, direction: str) -> None:
    page.wait_for_function(
        "([c, d]) => document.querySelector(`.xp-head [data-col=\"${c}\"]`).getAttribute('aria-sort') === d",
        arg=[col, direction],
    )


def open_table(page: Any, server: ServerProcess, query: str = f"?project={PROJECT}") -> None:
    page.goto(f"{server.url}/table{query}")
    page.locator(".xp-row").first.wait_for(timeout=15_000)


def flat(config: dict[str, Any]) -> dict[str, Any]:
    """The seed configs flattened as the UI shows them (one nested level: model.*)."""
    out = {k: v for k, v in config.items() if k != "model"}
    out.update({f"model.{k}": v for k, v in config["model"].items()})
    return out


def test_table_sort_filter_columns_and_saved_view(server: ServerProcess, page: Any) -> None:
    open_table(page, server)
    wait_rows(page, 30)
    # sort by a metric: ascending, then descending — the server's order, the summaries' values
    val_loss = "metric:last:val/loss"
    page.locator(f'.xp-head [data-col="{val_loss}"] button').click()
    page.wait_for_url(re.compile(r"sort=val%2Floss"))
    assert_sorted_header(page, val_loss, "ascending")
    wait_settled(page)
    wait_rows(page, 30)
    shown = [number(t) for t in column_values(page, val_loss)]
    assert shown == sorted(shown) and len(shown) == 30
    best = api(server, "/api/runs", sort="val/loss", limit=1, summary="val/loss")["runs"][0]
    assert page.locator(".xp-row").first.get_attribute("data-run-id") == best["id"]
    page.locator(f'.xp-head [data-col="{val_loss}"] button').click()
    page.wait_for_url(re.compile(r"sort=-val%2Floss"))
    wait_settled(page)
    shown = [number(t) for t in column_values(page, val_loss)]
    assert shown == sorted(shown, reverse=True)
    shot(page, "experiments-table-sorted")

    # a bad expression is pointed at, not swallowed
    box = page.get_by_label("filter expression")
    box.fill("config.lr <")
    box.press("Enter")
    alert = page.get_by_role("alert")
    alert.wait_for(timeout=10_000)
    assert "position 11" in alert.inner_text()  # the caret under the end of the text
    # keys complete with Tab, then a filter expression: the server's answer, in the table
    expr = "config.lr < 1e-3 and val/loss < 1.9"
    box.fill("")
    box.type("config.l")
    page.get_by_role("listbox", name="keys").get_by_text("config.lr").wait_for()
    box.press("Tab")
    assert box.input_value() == "config.lr"
    box.type(" < 1e-3 and val/lo")
    box.press("Tab")
    # the completion lands after a render: type on once it is there, at the end of the text
    page.wait_for_function("() => document.activeElement.value === 'config.lr < 1e-3 and val/loss'")
    box.press("End")
    box.type(" < 1.9")
    assert box.input_value() == expr
    box.press("Enter")
    expected = api(server, "/api/runs", filter=expr, limit=100)["total"]
    assert 0 < expected < 30
    wait_rows(page, expected)
    assert all(float(v) < 1e-3 for v in column_values(page, "config.lr"))
    assert not page.get_by_role("alert").is_visible()

    # pick columns: drop the optimizer, add val/acc's maximum
    page.get_by_role("button", name=re.compile(r"^COLUMNS")).click()
    page.get_by_label("column config.optimizer").uncheck()
    page.get_by_label("column val/acc max").check()
    page.get_by_role("button", name="DONE").click()
    page.locator('.xp-head [data-col="metric:max:val/acc"]').wait_for()
    assert page.locator('.xp-head [data-col="config.optimizer"]').count() == 0
    page.wait_for_function(
        "(c) => [...document.querySelectorAll(`.xp-row [data-col=\"${c}\"]`)].every(e => e.textContent !== '—')",
        arg="metric:max:val/acc",
    )

    # save the view, then come back to a bare table and apply it
    page.get_by_role("button", name="SAVE VIEW").click()
    page.get_by_label("view name").fill("low-lr")
    page.get_by_role("button", name="SAVE", exact=True).click()
    page.locator('select[aria-label="saved views"] option[value="low-lr"]').wait_for(state="attached")
    views = api(server, f"/api/projects/{PROJECT}/views")["views"]
    assert [(v["name"], v["filter"], v["sort"]) for v in views] == [("low-lr", expr, "-val/loss")]
    assert "metric:max:val/acc" in views[0]["columns"] and "config.optimizer" not in views[0]["columns"]

    page.reload()  # the address bar keeps the table as it was
    wait_rows(page, expected)
    assert page.get_by_label("filter expression").input_value() == expr
    open_table(page, server)
    wait_rows(page, 30)
    assert page.locator('.xp-head [data-col="config.optimizer"]').count() == 1
    page.get_by_label("saved views").select_option("low-lr")
    wait_rows(page, expected)
    assert page.get_by_label("filter expression").input_value() == expr
    page.locator('.xp-head [data-col="metric:max:val/acc"]').wait_for()
    assert page.locator('.xp-head [data-col="config.optimizer"]').count() == 0
    assert page.locator(f'.xp-head [data-col="{val_loss}"]').get_attribute("aria-sort") == "descending"
    shot(page, "experiments-table-view")

    # "more like this": a value of the focused run's config narrows the filter
    row = page.locator(".xp-row").first
    depth = api(server, f"/api/runs/{row.get_attribute('data-run-id')}")["config"]["model"]["depth"]
    row.locator('[data-col="name"]').click()
    page.get_by_label(f"filter config.model.depth = {depth}").click()
    narrowed = f"{expr} and config.model.depth = {depth}"
    page.wait_for_function("(f) => new URL(location.href).searchParams.get('filter') === f", arg=narrowed)
    wait_rows(page, api(server, "/api/runs", filter=narrowed, limit=100)["total"])
    assert set(column_values(page, "config.model.depth")) == {str(depth)}


def test_tags_notes_compare_and_group(server: ServerProcess, page: Any) -> None:
    open_table(page, server, f"?project={PROJECT}&sort=val/loss")
    wait_rows(page, 30)
    rows = page.locator(".xp-row")
    first, second = str(rows.nth(0).get_attribute("data-run-id")), str(rows.nth(1).get_attribute("data-run-id"))

    # tag the two best runs from the side panel
    for run_id in (first, second):
        page.locator(f'.xp-row[data-run-id="{run_id}"] [data-col="name"]').click()
        tag = page.get_by_label("add tags")
        tag.fill("best")
        tag.press("Enter")
        page.locator(f'.xp-row[data-run-id="{run_id}"] .xp-tag', has_text="best").wait_for(timeout=10_000)
    tagged = api(server, "/api/runs", filter="tags contains best", limit=100)["runs"]
    assert sorted(r["id"] for r in tagged) == sorted([first, second])

    # a note in Markdown: rendered, its HTML never
    page.get_by_role("button", name="EDIT").click()
    note = "**winner** of the sweep\n\n- lowest `val/loss`\n\n<img src=x onerror=alert(1)>"
    page.get_by_label("notes (Markdown)").fill(note)
    page.get_by_role("button", name="SAVE", exact=True).click()
    rendered = page.get_by_test_id("notes-rendered")
    rendered.locator("strong", has_text="winner").wait_for(timeout=10_000)
    assert rendered.locator("img").count() == 0
    assert api(server, f"/api/runs/{second}")["notes"] == note

    # archive a third run: gone from the table, back with ARCHIVED, restored
    third = str(rows.nth(2).get_attribute("data-run-id"))
    page.locator(f'.xp-row[data-run-id="{third}"] [data-col="name"]').click()
    page.get_by_role("button", name="ARCHIVE", exact=True).click()
    wait_rows(page, 29)
    page.get_by_role("button", name="ARCHIVED", exact=True).click()
    wait_rows(page, 1)
    page.locator(f'.xp-row[data-run-id="{third}"] [data-col="name"]').click()
    page.get_by_role("button", name="RESTORE").click()
    wait_rows(page, 0)
    page.get_by_role("button", name="HIDE ARCHIVED").click()
    wait_rows(page, 30)
    assert api(server, f"/api/runs/{third}")["archived"] is False

    # select both with the keyboard and compare (c)
    page.locator(f'.xp-row[data-run-id="{first}"] [data-col="name"]').click()
    grid = page.get_by_role("grid", name="runs table")
    grid.focus()
    page.keyboard.press("x")
    page.keyboard.press("j")
    page.keyboard.press("x")
    page.get_by_text("2 selected").wait_for()
    page.keyboard.press("c")
    page.wait_for_url(re.compile(r"/compare\?runs="))
    runs = {r["id"]: r for r in api(server, "/api/runs", filter=f'id in ("{first}", "{second}")', limit=2)["runs"]}
    legend = page.get_by_test_id("compare-legend")
    for r in runs.values():
        legend.get_by_text(r["name"], exact=True).wait_for(timeout=10_000)
    chart = page.locator('.xp-chart[data-chart-key="val/loss"]')
    page.wait_for_function(
        "() => Number(document.querySelector('.xp-chart[data-chart-key=\"val/loss\"]')?.dataset.points) >= 20",
        timeout=15_000,
    )
    # the hover readout names both runs in full
    canvas = chart.locator("canvas").first
    bb = canvas.bounding_box()
    assert bb is not None
    page.mouse.move(bb["x"] + bb["width"] * 0.5, bb["y"] + bb["height"] * 0.5)
    readout = chart.locator(".xp-readout")
    page.wait_for_function(
        "(n) => document.querySelector('.xp-chart[data-chart-key=\"val/loss\"] .xp-readout').textContent.includes(n)",
        arg=runs[second]["name"],
    )
    for r in runs.values():
        assert r["name"] in readout.inner_text()
    # the config diff lists exactly the keys that differ
    fa, fb = flat(runs[first]["config"]), flat(runs[second]["config"])
    differing = sorted(k for k in fa.keys() | fb.keys() if fa.get(k) != fb.get(k))
    assert differing, "the two best runs should differ in their config"
    diff_keys = page.get_by_test_id("config-diff").locator("tbody tr").evaluate_all("rs => rs.map(r => r.dataset.key)")
    assert diff_keys == differing
    assert page.locator(".xp-pc svg g[data-run-id]").count() == 2
    shot(page, "experiments-compare")

    # group by seed: 3 groups of 10, each a mean line in a min-max band
    open_table(page, server)
    wait_rows(page, 30)
    page.get_by_label("group by").select_option("config.seed")
    page.wait_for_url(re.compile(r"/group\?"))
    groups = page.get_by_test_id("groups")
    for seed in (0, 1, 2):
        g = groups.locator(f'[data-group="seed={seed}"]')
        g.wait_for(timeout=15_000)
        assert g.locator(".xp-runlink").count() == 10
    page.wait_for_function(
        "() => Number(document.querySelector('.xp-chart[data-chart-key=\"val/loss\"]')?.dataset.points) >= 20",
        timeout=20_000,
    )
    # mean over seeds: runs that differ only in seed share a group (10 settings x 3 seeds)
    page.get_by_label("group mode").select_option("over")
    page.wait_for_function("() => document.querySelectorAll('[data-testid=groups] [data-group]').length === 10")
    for g in groups.locator("[data-group]").all():
        assert g.locator(".xp-runlink").count() == 3
    shot(page, "experiments-group")


def test_a_sort_keeps_the_rows_until_the_new_order_arrives(server: ServerProcess, page: Any) -> None:
    open_table(page, server)
    wait_rows(page, 30)
    wait_settled(page)
    before = page.locator(".xp-row").evaluate_all("rs => rs.map(r => r.dataset.runId)")
    held: list[Any] = []  # the new order's requests, answered only once the table has been looked at
    new_order = re.compile(r"/api/runs\?(.*&)?sort=val(%2F|/)acc(&|$)")
    page.route(new_order, lambda route: held.append(route))
    page.locator('.xp-head [data-col="metric:last:val/acc"] button').click()
    page.wait_for_function("() => document.querySelector('[role=grid]')?.getAttribute('aria-busy') === 'true'")
    deadline = time.monotonic() + 15
    while not held:
        assert time.monotonic() < deadline, "the new order was never requested"
        page.wait_for_timeout(50)
    # the previous rows stay, dimmed, while the new order loads: no blank table, no jump
    assert page.locator(".xp-row").evaluate_all("rs => rs.map(r => r.dataset.runId)") == before
    for route in held:
        route.continue_()
    page.unroute(new_order)
    wait_settled(page)
    shown = [number(t) for t in column_values(page, "metric:last:val/acc")]
    assert shown == sorted(shown)
    best = api(server, "/api/runs", sort="val/acc", limit=1)["runs"][0]
    assert page.locator(".xp-row").first.get_attribute("data-run-id") == best["id"]


def test_compare_colours_stay_distinct_past_the_palettes_eight(server: ServerProcess, page: Any) -> None:
    ids = [r["id"] for r in api(server, "/api/runs", project=PROJECT, limit=12)["runs"]]
    page.goto(f"{server.url}/compare?runs={','.join(ids)}")
    swatches = page.get_by_test_id("compare-legend").locator(".xp-swatch")
    swatches.nth(11).wait_for(timeout=15_000)
    colours = swatches.evaluate_all("els => els.map(e => getComputedStyle(e).backgroundColor)")
    assert len(colours) == 12 and len(set(colours)) == 12, colours


@pytest.mark.parametrize("path", ["/table?project=cifar", "/compare", "/group?by=config.seed&project=cifar"])
def test_narrow_screen_has_no_sideways_scrolling(server: ServerProcess, browser: Any, path: str) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    try:
        if path == "/compare":
            ids = [r["id"] for r in api(server, "/api/runs", sort="val/loss", limit=3)["runs"]]
            path = f"/compare?runs={','.join(ids)}"
        page.goto(server.url + path)
        page.locator(".xp-row, .xp-chart").first.wait_for(timeout=15_000)
        page.wait_for_timeout(500)
        width = page.evaluate("document.documentElement.scrollWidth")
        shot(page, f"experiments-390-{path.split('?')[0].strip('/')}")
        assert width <= 390, f"{path} is {width} px wide at 390"
    finally:
        context.close()


def test_seed_configs_cover_the_grid() -> None:
    """The data the browser tests rely on: three seeds of ten settings, every lr in each seed."""
    seeds = [i // 10 for i in range(30)]
    assert [seeds.count(s) for s in (0, 1, 2)] == [10, 10, 10]
    settings = {(LRS[i % 10 % 5], DEPTHS[i % 10 // 5], i % 2) for i in range(30)}
    assert len(settings) == 10 and math.isclose(min(LRS), 1e-4)
