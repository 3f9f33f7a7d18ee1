"""Air-gapped use: the dashboard, ``/docs`` and ``/redoc`` work in chromium with every non-local request
blocked, and none of them even tries one (Swagger UI used to come from a CDN: a blank page offline)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.e2e.support import Dashboard, shot

pytestmark = pytest.mark.e2e

LOCAL_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1"}


def is_local(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("data", "blob", "about") or parts.hostname in LOCAL_HOSTS


# Redoc 2 always draws its menu footer logo from this address; the docs pages' Content-Security-Policy keeps
# the browser from requesting it (the logo then hides itself), so it shows up as a refused load, never a request.
REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


@pytest.fixture
def refused(page: Any) -> list[str]:
    """The loads the page's Content-Security-Policy stopped before any request (from the console)."""
    messages: list[str] = []
    page.on("console", lambda m: messages.append(m.text) if "Content Security Policy" in m.text else None)
    return messages


@pytest.fixture
def offline(page: Any) -> Iterator[list[str]]:
    """Aborts every request that would leave the machine and records it (WebSockets included)."""
    external: list[str] = []

    def route(r: Any) -> None:
        if is_local(r.request.url):
            r.continue_()
        else:
            external.append(r.request.url)
            r.abort("internetdisconnected")

    page.context.route("**/*", route)
    page.on("websocket", lambda ws: None if is_local(ws.url) else external.append(ws.url))
    yield external


def test_swagger_ui_lists_the_operations_offline(
    dashboard: Dashboard, page: Any, offline: list[str], refused: list[str]
) -> None:
    page.goto(dashboard.url + "/docs")
    runs = page.locator(".opblock-get .opblock-summary-path[data-path='/api/runs']")
    runs.wait_for(timeout=20_000)
    assert runs.is_visible()
    assert page.locator(".opblock-post .opblock-summary-path[data-path='/api/runs/{run_id}/metrics']").is_visible()
    assert page.locator(".opblock-summary-description", has_text="List Runs").first.is_visible()
    assert page.locator(".info .title").inner_text().startswith("trainboard")
    shot(page, "offline-docs")
    assert offline == [] and refused == []


def test_redoc_renders_offline(dashboard: Dashboard, page: Any, offline: list[str], refused: list[str]) -> None:
    page.goto(dashboard.url + "/redoc")
    heading = page.locator("h2", has_text=re.compile(r"^\s*List Runs\s*$"))
    heading.wait_for(timeout=30_000)
    assert heading.is_visible()
    assert page.locator("h1", has_text="trainboard").is_visible()
    assert page.get_by_text("Something went wrong").count() == 0
    page.get_by_text("API docs by Redocly").wait_for(timeout=10_000)
    shot(page, "offline-redoc")
    assert offline == []
    assert all(REDOC_LOGO in m for m in refused), refused


def test_dashboard_loads_with_zero_external_requests(dashboard: Dashboard, page: Any, offline: list[str]) -> None:
    with httpx.Client(base_url=dashboard.url) as http:
        run = http.post("/api/runs", json={"name": "air-gapped", "project": "offline"}).json()
        http.post(
            f"/api/runs/{run['id']}/metrics",
            json={"points": [{"step": s, "metrics": {"loss": 1.0 / (s + 1)}} for s in range(20)]},
        ).raise_for_status()
    page.goto(dashboard.url)
    row = page.locator(f'[data-run-id="{run["id"]}"]')
    row.wait_for(timeout=15_000)
    assert "air-gapped" in row.inner_text()
    row.click()
    page.wait_for_url(re.compile(rf"/runs/{run['id']}$"))
    page.locator('[data-metric-key="loss"]').wait_for(timeout=20_000)
    page.wait_for_load_state("networkidle")
    shot(page, "offline-dashboard")
    assert offline == []


def test_docs_pages_name_only_local_assets(dashboard: Dashboard) -> None:
    """What the browser test cannot see when an asset is merely unused: no page points off the machine."""
    for path in ("/docs", "/redoc"):
        html = httpx.get(dashboard.url + path).text
        assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", html), (path, html)
        for asset in re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)""", html):
            assert httpx.get(dashboard.url + asset).status_code == 200, (path, asset)
