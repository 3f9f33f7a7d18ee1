"""The web terminal replays a run at the terminal size it was recorded at: a 200-column HF-style run looks
the same in a laptop window and on a phone as on the 200-column terminal it ran in (a pyte screen)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import httpx
import pyte
import pytest

from tests.e2e.support import OUTPUT, Dashboard, terminal_lines, trainboard_cmd
from tests.support.terminal import TerminalProcess

RUN = Path(__file__).with_name("hf_style_200.py")
RESIZING = Path(__file__).with_name("resize_midrun.py")
COLS, ROWS = 200, 50


def screen_rows(raw: bytes, cols: int, rows: int, resizes: list[dict[str, int]] | None = None) -> list[str]:
    """The rows a terminal of ``cols`` x ``rows`` shows for ``raw`` (trailing blanks dropped), resized to
    each of ``resizes`` (``offset``, ``cols``, ``rows``) at its offset."""
    screen = pyte.Screen(cols, rows)
    stream = pyte.ByteStream(screen)
    at = 0
    for size in resizes or []:
        stream.feed(raw[at : size["offset"]])
        at = size["offset"]
        screen.resize(size["rows"], size["cols"])
    stream.feed(raw[at:])
    out = [line.rstrip() for line in screen.display]
    while out and not out[-1]:
        out.pop()
    return out


def shown_rows(page: Any, size: int) -> list[str]:
    """The web terminal's rows once it has written ``size`` bytes (trailing blanks dropped)."""
    page.wait_for_function("(n) => window.trainboard.logOffset() >= n", arg=size, timeout=20_000)
    page.wait_for_timeout(300)  # let xterm parse what it was given (writes are asynchronous)
    shown = [line.rstrip() for line in terminal_lines(page)]  # written blanks (tqdm clears with spaces)
    while shown and not shown[-1]:
        shown.pop()
    return shown


@pytest.fixture
def recorded_run(dashboard: Dashboard) -> tuple[str, bytes]:
    """The HF-style script run through ``trainboard run`` in a 200x50 terminal; its id and stored bytes."""
    cmd = [*trainboard_cmd(), "run", "--name", "hf200", "--system-interval", "0", "--", sys.executable, str(RUN)]
    term = TerminalProcess(cmd, cols=COLS, rows=ROWS, env=dashboard.env)
    assert term.wait() == 0, term.output
    run_id = dashboard.run_id("hf200")
    dashboard.wait_status(run_id, "completed")
    raw = httpx.get(f"{dashboard.url}/api/runs/{run_id}/logs").content
    assert b"\r" in raw and b"24/24" in raw  # tqdm redrew its bar in place
    return run_id, raw


@pytest.mark.parametrize(("width", "height"), [(1440, 900), (390, 844)], ids=["laptop", "phone"])
def test_recorded_width_is_replayed_at_any_window_size(
    dashboard: Dashboard, page: Any, recorded_run: tuple[str, bytes], width: int, height: int
) -> None:
    run_id, raw = recorded_run
    expected = screen_rows(raw, COLS, ROWS)
    assert 8 < len(expected) < ROWS  # the whole run fits one screen: every row is compared
    assert any(len(row) > 150 for row in expected)  # the bar spans the wide terminal

    page.set_viewport_size({"width": width, "height": height})
    page.goto(f"{dashboard.url}/runs/{run_id}")
    page.wait_for_function(
        "() => { const t = window.trainboard && window.trainboard.terminal; return t && t.cols === 200 && "
        "t.buffer.active.length > 1 }",
        timeout=20_000,
    )
    assert shown_rows(page, len(raw)) == expected

    terminal = page.get_by_test_id("terminal")
    assert terminal.get_attribute("data-cols") == "200" and terminal.get_attribute("data-rows") == "50"
    # the recorded screen is scaled into the panel: nothing sticks out of it
    box = terminal.bounding_box()
    screen = page.locator(".terminal-screen .xterm-screen").bounding_box()
    assert box is not None and screen is not None
    assert screen["x"] + screen["width"] <= box["x"] + box["width"] + 1
    assert screen["y"] + screen["height"] <= box["y"] + box["height"] + 1
    if width >= 1000:  # on a laptop the 200 columns span the panel (readable), not a corner of it
        assert screen["width"] >= 0.85 * box["width"]
    OUTPUT.mkdir(parents=True, exist_ok=True)
    terminal.screenshot(path=str(OUTPUT / f"terminal-geometry-{width}x{height}.png"))
    page.screenshot(path=str(OUTPUT / f"terminal-geometry-{width}x{height}-page.png"))

    if width < 600:  # 200 columns on a phone are too small to read: full size, scrolled sideways
        page.get_by_test_id("terminal-size").click()
        page.wait_for_function(
            "() => { const el = document.querySelector('[data-testid=terminal]'); "
            "return el.scrollWidth > 2 * el.clientWidth }",
            timeout=10_000,
        )
        assert shown_rows(page, len(raw)) == expected  # the same screen, only larger
        terminal.evaluate("el => { el.scrollLeft = el.scrollWidth }")  # to the end of the bar
        terminal.screenshot(path=str(OUTPUT / f"terminal-geometry-{width}x{height}-full-size.png"))


def test_live_view_follows_a_resize_mid_run(dashboard: Dashboard, page: Any) -> None:
    cmd = [*trainboard_cmd(), "run", "--name", "resized", "--system-interval", "0", "--", sys.executable, str(RESIZING)]
    term = TerminalProcess(cmd, cols=COLS, rows=ROWS, env=dashboard.env)
    term.wait_for(b"ready for a resize")
    run_id = dashboard.run_id("resized")
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(f"{dashboard.url}/runs/{run_id}")
    page.wait_for_function(
        "() => { const t = window.trainboard && window.trainboard.terminal; return t && t.cols === 200 && "
        "t.buffer.active.getLine(t.buffer.active.length - 1) !== undefined && "
        "[...Array(t.buffer.active.length).keys()].some(i => "
        "t.buffer.active.getLine(i).translateToString().includes('ready for a resize')) }",
        timeout=20_000,
    )
    term.resize(100, ROWS)  # the user narrows the window while the page is watching
    assert term.wait() == 0, term.output
    dashboard.wait_status(run_id, "completed")

    raw = httpx.get(f"{dashboard.url}/api/runs/{run_id}/logs").content
    sizes = httpx.get(f"{dashboard.url}/api/runs/{run_id}/logs/geometry").json()["sizes"]
    assert [(s["cols"], s["rows"]) for s in sizes] == [(COLS, ROWS), (100, ROWS)]
    expected = screen_rows(raw, COLS, ROWS, sizes[1:])
    assert any(row.startswith("after: ") and len(row) == 100 for row in expected)  # wrapped at 100
    page.wait_for_function("() => window.trainboard.terminal.cols === 100", timeout=20_000)
    assert shown_rows(page, len(raw)) == expected
    page.get_by_test_id("terminal").screenshot(path=str(OUTPUT / "terminal-geometry-resized.png"))


def test_print_during_a_live_bar_wraps_as_in_a_real_terminal(dashboard: Dashboard, page: Any) -> None:
    """Reported as "the web terminal drops the first letter after an 80-column tqdm bar" ("tep 10 loss"): an
    80-column terminal shows the same (the bar leaves the last column free; the "s" lands there and the rest
    wraps). The web terminal must show what the terminal showed, letter for letter."""
    cols, rows = 80, 24
    script = Path(__file__).with_name("print_midbar_80.py")
    cmd = [*trainboard_cmd(), "run", "--name", "midbar", "--system-interval", "0", "--", sys.executable, str(script)]
    term = TerminalProcess(cmd, cols=cols, rows=rows, env=dashboard.env)
    assert term.wait() == 0, term.output
    run_id = dashboard.run_id("midbar")
    dashboard.wait_status(run_id, "completed")
    raw = httpx.get(f"{dashboard.url}/api/runs/{run_id}/logs").content
    expected = screen_rows(raw, cols, rows)
    assert "tep 10 loss 0.9" in expected and any(r.endswith("it/s]s") for r in expected)  # what a terminal shows

    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(f"{dashboard.url}/runs/{run_id}")
    page.wait_for_function(
        "() => { const t = window.trainboard && window.trainboard.terminal; return t && t.cols === 80 }",
        timeout=20_000,
    )
    assert shown_rows(page, len(raw)) == expected
