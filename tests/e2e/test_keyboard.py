"""Every shortcut the help overlay lists, pressed in chromium on the real dashboard (web/src/hooks/)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.support import Dashboard

pytestmark = pytest.mark.e2e

ACTIVE_JS = """() => {
  const a = document.activeElement;
  return {tag: a.tagName, label: a.getAttribute('aria-label') || '', inTerminal: !!a.closest('.xterm')};
}"""


def finished_run(dashboard: Dashboard, name: str) -> str:
    dashboard.start_run(name, "2", "0.01")
    run_id = dashboard.run_id(name)
    dashboard.wait_status(run_id, "completed", timeout=60)
    return run_id


def at_run(page: Any, run_id: str) -> None:
    """The open run is `run_id`: polls the address (a same-document navigation needs no load event), and says
    where the page is, what has focus and the run list's order when it is not."""
    pattern = re.compile(rf"/runs/{re.escape(run_id)}$")
    try:
        expect(page).to_have_url(pattern, timeout=10_000)
    except AssertionError as exc:
        listed = page.eval_on_selector_all("[data-run-id]", "els => els.map(e => e.dataset.runId)")
        raise AssertionError(f"expected run {run_id}: at {page.url}, focus {active(page)}, list {listed}") from exc


def active(page: Any) -> dict[str, Any]:
    result: dict[str, Any] = page.evaluate(ACTIVE_JS)
    return result


def test_shortcuts_from_the_help_overlay(dashboard: Dashboard, page: Any) -> None:
    older = finished_run(dashboard, "kb-older")
    newer = finished_run(dashboard, "kb-newer")
    page.goto(dashboard.url)
    at_run(page, newer)  # the newest run opens first
    page.locator(f'[data-run-id="{older}"]').wait_for(timeout=15_000)
    page.get_by_role("region", name="METRICS · kb-newer").wait_for(timeout=15_000)  # the run page has rendered
    kb = page.keyboard

    # j / ↓ next run, k / ↑ previous run
    kb.press("j")
    at_run(page, older)
    kb.press("k")
    at_run(page, newer)
    kb.press("ArrowDown")
    at_run(page, older)
    kb.press("ArrowUp")
    at_run(page, newer)

    # ? opens the help, Esc closes it
    kb.press("?")
    help_box = page.get_by_role("dialog", name="keyboard shortcuts")
    help_box.wait_for(state="visible")
    kb.press("Escape")
    help_box.wait_for(state="hidden")

    # / focuses the run filter without typing the slash; letters typed there are text, Esc leaves the field
    kb.press("j")
    at_run(page, older)
    kb.press("/")
    assert active(page)["label"] == "filter runs"
    kb.type("kb")
    assert page.get_by_label("filter runs").input_value() == "kb"
    at_run(page, older)  # the "k" went into the field, not to the run list
    kb.press("Escape")
    assert active(page)["tag"] == "BODY"
    kb.press("k")
    at_run(page, newer)

    # t switches TERMINAL / LINES; f searches in the tab shown
    lines_tab = page.get_by_role("tab", name="LINES")
    kb.press("t")
    page.wait_for_function("() => document.querySelector('[role=tab].on').textContent === 'LINES'")
    assert "on" in (lines_tab.get_attribute("class") or "")
    kb.press("f")
    page.wait_for_function("() => document.activeElement.placeholder === 'search lines…'")
    kb.press("Escape")
    kb.press("t")
    page.wait_for_function("() => document.querySelector('[role=tab].on').textContent === 'TERMINAL'")
    kb.press("f")
    assert active(page)["label"] == "search terminal"
    kb.press("Escape")

    # l focuses the terminal; keys typed there stay with it
    kb.press("t")
    kb.press("l")
    page.wait_for_function("() => !!document.activeElement.closest('.xterm')")
    page.wait_for_function("() => document.querySelector('[role=tab].on').textContent === 'TERMINAL'")
    kb.press("j")
    at_run(page, newer)
    assert active(page)["inTerminal"]

    # c clears the chart comparison (clicking the checkbox takes focus out of the terminal)
    metrics = page.get_by_role("region", name=re.compile(r"^METRICS"))
    page.get_by_label("compare kb-older").check()
    page.get_by_role("region", name="METRICS · kb-newer +1").wait_for()
    kb.press("Escape")  # leave the checkbox, a field
    kb.press("c")
    page.get_by_role("region", name="METRICS · kb-newer").wait_for()
    assert metrics.count() == 1
