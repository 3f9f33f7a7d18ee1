"""The alerts page in chromium: create a rule in the UI, see it fire on a live run, acknowledge it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.support import Dashboard, ensure_bundle
from tests.support.servers import API_HEADERS, ServerProcess


@pytest.fixture
def dashboard(tmp_path: Path) -> Iterator[Dashboard]:
    """As the e2e ``dashboard`` fixture, with a start timeout for a loaded machine."""
    ensure_bundle()
    proc = ServerProcess(data_dir=tmp_path / "data", db_url=None).start(timeout=120)
    try:
        yield Dashboard(url=proc.url, data=proc.data_dir, env=proc.env())
    finally:
        proc.stop()


def test_create_a_rule_see_it_fire_and_acknowledge_it(dashboard: Dashboard, page: Any) -> None:
    page.goto(dashboard.url + "/alerts")
    page.get_by_label("project").fill("e2e")
    page.get_by_label("rule name").fill("loss too high")
    page.get_by_label("kind").select_option("threshold")
    page.get_by_label("metric key").fill("loss")
    page.get_by_label("value").fill("10")
    page.get_by_role("button", name="ADD RULE").click()
    page.get_by_test_id("rule-row").filter(has_text="loss too high").wait_for(timeout=15_000)
    assert "loss above 10" in page.get_by_test_id("rule-row").first.inner_text()

    with httpx.Client(base_url=dashboard.url, headers=API_HEADERS, timeout=30) as http:
        run_id = http.post("/api/runs", json={"name": "live", "project": "e2e"}).json()["id"]
        for step in range(1, 4):
            http.post(f"/api/runs/{run_id}/metrics", json={"points": [{"step": step, "metrics": {"loss": 1.0}}]})
        http.post(f"/api/runs/{run_id}/metrics", json={"points": [{"step": 4, "metrics": {"loss": 42.0}}]})

    row = page.get_by_test_id("alert-row").filter(has_text="loss too high")
    row.wait_for(timeout=20_000)
    assert "FIRING" in row.inner_text() and "loss = 42 (above 10) at step 4" in row.inner_text()
    row.get_by_role("button", name="ACK").click()
    page.get_by_test_id("alert-row").filter(has_text="ACKNOWLEDGED").wait_for(timeout=15_000)
    assert "1 acknowledged" in page.locator(".topbar").inner_text()
