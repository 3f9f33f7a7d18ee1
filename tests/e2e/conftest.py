"""End-to-end fixtures: a real ``trainboard serve`` on a free port, real runs through ``trainboard run``,
and Debian's chromium driven by Playwright. Screenshots go to ``test-output/e2e/``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.support import CHROMIUM, CHROMIUM_ARGS, OUTPUT, Dashboard, ensure_bundle
from tests.support.servers import ServerProcess


@pytest.fixture
def dashboard(tmp_path: Path) -> Iterator[Dashboard]:
    """A real ``trainboard serve`` (SQLite, free port) serving the built UI; runs started through it are
    stopped at the end."""
    ensure_bundle()
    proc = ServerProcess(data_dir=tmp_path / "data", db_url=None).start()
    env = {**proc.env(), "PYTHONUNBUFFERED": "1"}
    dash = Dashboard(url=proc.url, data=proc.data_dir, env=env)
    try:
        yield dash
    finally:
        dash.stop_runs()
        proc.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} missing: apt-get install -y chromium")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1600, "height": 1000}, accept_downloads=True)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(f"{e}\n{getattr(e, 'stack', '') or ''}"))  # where it was thrown

    def on_dialog(dialog: Any) -> None:  # alert() from injected markup would land here
        errors.append(f"unexpected dialog: {dialog.message}")
        dialog.dismiss()

    pg.on("dialog", on_dialog)
    yield pg
    OUTPUT.mkdir(parents=True, exist_ok=True)
    pg.screenshot(path=str(OUTPUT / f"{request.node.name}-final.png"), full_page=True)
    context.close()
    assert not errors, errors
