"""Panel plugins in chromium: the example ``trainboard-confusion-matrix`` (installed with pip, found through its
entry point, enabled with ``--plugin``) draws the matrix of a table a training script logged through the SDK on the
run page, with a step slider; a panel plugin whose ``mount`` throws shows its error in its own box and the rest of
the run page keeps working."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.support import ensure_bundle, shot
from tests.support.plugins import PluginServer, install_plugin

BROKEN_PYPROJECT = """[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"
[project]
name = "trainboard-broken-panel"
version = "0.0.1"
[project.entry-points."trainboard.panels"]
broken-panel = "trainboard_broken_panel:PANEL"
[tool.hatch.build.targets.wheel]
packages = ["trainboard_broken_panel"]
"""
BROKEN_INIT = """from trainboard.plugins.panels import PanelSpec
TRAINBOARD_API = 1
PANEL = PanelSpec(title="BROKEN", package=__name__)
"""
BROKEN_JS = 'export function mount(el, api) { el.textContent = "half drawn"; throw new Error("boom in mount"); }\n'


def broken_panel_project(root: Path) -> Path:
    pkg = root / "trainboard-broken-panel"
    (pkg / "trainboard_broken_panel" / "static").mkdir(parents=True)
    (pkg / "pyproject.toml").write_text(BROKEN_PYPROJECT)
    (pkg / "trainboard_broken_panel" / "__init__.py").write_text(BROKEN_INIT)
    (pkg / "trainboard_broken_panel" / "static" / "panel.js").write_text(BROKEN_JS)
    return pkg


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PluginServer]:
    ensure_bundle()
    site = tmp_path_factory.mktemp("site")
    install_plugin("trainboard-confusion-matrix", site)
    install_plugin(broken_panel_project(tmp_path_factory.mktemp("src")), site)
    proc = PluginServer(
        data_dir=tmp_path_factory.mktemp("data"),
        db_url=None,
        extra_args=["--plugin", "confusion-matrix", "--plugin", "broken-panel"],
    )
    proc.site = str(site)
    proc.start()
    yield proc
    proc.stop()


TRAIN = """
from trainboard import Table, TrainingMonitor
steps = {
    1: [["cat", "cat", 5], ["cat", "dog", 5], ["dog", "dog", 8], ["dog", "cat", 2]],
    2: [["cat", "cat", 9], ["cat", "dog", 1], ["<b>dog</b>", "<b>dog</b>", 10]],
}
with TrainingMonitor(run_name="classifier", capture_output=False, system_metrics=False) as monitor:
    for step, rows in steps.items():
        table = Table(columns=[("actual", "str"), ("predicted", "str"), ("count", "int")], rows=rows)
        monitor.log_metrics({"loss": 1.0 / step, "eval/confusion": table}, step=step)
"""


def logged_run(server: PluginServer, tmp: Path) -> str:
    """A training script logs a confusion table at steps 1 and 2 through the SDK."""
    (tmp / "train.py").write_text(TRAIN)
    env = server.env() | {"TRAINBOARD_DATA": str(tmp / "client")}
    done = subprocess.run(
        [sys.executable, str(tmp / "train.py")], env=env, capture_output=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr.decode()
    runs = httpx.get(f"{server.url}/api/runs").json()["runs"]
    return str(next(r["id"] for r in runs if r["name"] == "classifier"))


def test_plugins_api_lists_the_enabled_panels(server: PluginServer) -> None:
    body = httpx.get(server.url + "/api/plugins").json()
    assert body["api_version"] == 1
    names = {p["name"]: p for p in body["panels"]}
    assert set(names) == {"confusion-matrix", "broken-panel"}
    assert names["confusion-matrix"]["module_url"] == "/api/plugins/confusion-matrix/assets/panel.js"
    assert names["confusion-matrix"]["version"] == "0.1.0"
    js = httpx.get(server.url + names["confusion-matrix"]["module_url"])
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    for escape in ("../__init__.py", "..%2F__init__.py", "%2e%2e/__init__.py", "/etc/passwd", "static/../../x"):
        assert httpx.get(f"{server.url}/api/plugins/confusion-matrix/assets/{escape}").status_code == 404, escape
    assert httpx.get(server.url + "/api/plugins/nope/assets/panel.js").status_code == 404


def test_panel_draws_and_a_throwing_panel_stays_in_its_box(server: PluginServer, page: Any, tmp_path: Path) -> None:
    run_id = logged_run(server, tmp_path)
    page.goto(f"{server.url}/runs/{run_id}")
    matrix = page.get_by_role("table", name="confusion matrix")
    matrix.wait_for(timeout=20_000)
    assert "step 2 · accuracy 95.0% of 20" in page.locator("[data-plugin=confusion-matrix]").inner_text(timeout=10_000)
    # the matrix of step 2: labels are text, never markup
    assert matrix.locator("th", has_text="<b>dog</b>").count() == 2
    assert page.locator("[data-plugin=confusion-matrix] b").count() == 0
    page.locator("[data-plugin=confusion-matrix] input[type=range]").fill("0")
    page.get_by_text("step 1 · accuracy 65.0% of 20").wait_for(timeout=10_000)
    # the broken panel: its error in its own box
    alert = page.locator("[data-plugin=broken-panel] [role=alert]")
    alert.wait_for(timeout=10_000)
    assert alert.inner_text() == "panel plugin broken-panel failed: boom in mount"
    shot(page, "panel-plugin-error")
    # and the rest of the page works: the metrics, the config, switching the log to its lines view
    assert page.get_by_role("region", name="CONFIG").is_visible()
    page.get_by_role("tab", name="LINES").click()
    assert page.get_by_role("tab", name="LINES").get_attribute("class") == "on"
    assert matrix.is_visible()
