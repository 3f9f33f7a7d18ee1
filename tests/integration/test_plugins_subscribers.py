"""A ``trainboard.subscribers`` plugin, pip-installed into a folder on the server's ``PYTHONPATH``: a real server
hands it every committed change once it is enabled with ``--plugin``, and never imports it otherwise (installing a
package is not enough for its code to run in the server)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest
from tests.support.plugins import PluginServer, install_plugin

PYPROJECT = """[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"
[project]
name = "trainboard-audit-file"
version = "0.2.0"
[project.entry-points."trainboard.subscribers"]
audit-file = "trainboard_audit_file:make"
[tool.hatch.build.targets.wheel]
packages = ["trainboard_audit_file"]
"""
MODULE = """import json, os
from trainboard.server.ingest.subscribers import subscriber
TRAINBOARD_API = 1
open(os.environ["AUDIT_IMPORTED"], "a").write("imported\\n")
def make():
    path = os.environ["AUDIT_FILE"]
    def record(change):
        with open(path, "a") as f:
            f.write(json.dumps({"kind": type(change).__name__, "run_id": change.run_id}) + "\\n")
    return subscriber("audit-file", record)
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = tmp_path_factory.mktemp("src") / "trainboard-audit-file"
    (src / "trainboard_audit_file").mkdir(parents=True)
    (src / "pyproject.toml").write_text(PYPROJECT)
    (src / "trainboard_audit_file" / "__init__.py").write_text(MODULE)
    return install_plugin(src, tmp_path_factory.mktemp("site"))


class AuditServer(PluginServer):
    audit: str = ""
    imported: str = ""

    def env(self) -> dict[str, str]:
        return super().env() | {"AUDIT_FILE": self.audit, "AUDIT_IMPORTED": self.imported}


def serve(site: Path, tmp: Path, *args: str) -> AuditServer:
    proc = AuditServer(data_dir=tmp / "data", db_url=None, extra_args=list(args))
    proc.site, proc.audit, proc.imported = str(site), str(tmp / "audit.jsonl"), str(tmp / "imported")
    return proc


def test_enabled_subscriber_plugin_gets_every_change(site: Path, tmp_path: Path) -> None:
    proc = serve(site, tmp_path, "--plugin", "audit-file").start()
    try:
        with httpx.Client(base_url=proc.url, headers={"X-Trainboard": "1"}, timeout=30) as c:
            run_id = c.post("/api/runs", json={"name": "audited"}).json()["id"]
            c.put(f"/api/runs/{run_id}", json={"status": "completed", "exit_code": 0}).raise_for_status()
        audit = tmp_path / "audit.jsonl"
        deadline = time.monotonic() + 20
        kinds: list[dict[str, str]] = []
        while time.monotonic() < deadline:
            kinds = [json.loads(x) for x in audit.read_text().splitlines()] if audit.exists() else []
            if any(k["kind"] == "StatusChange" for k in kinds):
                break
            time.sleep(0.1)
        assert [k["run_id"] for k in kinds] and {k["run_id"] for k in kinds} == {run_id}
        assert kinds[0]["kind"] == "RunCreated" and "StatusChange" in [k["kind"] for k in kinds]
    finally:
        proc.stop()


def test_installed_but_not_enabled_subscriber_is_never_imported(site: Path, tmp_path: Path) -> None:
    proc = serve(site, tmp_path).start()
    try:
        with httpx.Client(base_url=proc.url, headers={"X-Trainboard": "1"}, timeout=30) as c:
            c.post("/api/runs", json={"name": "not audited"}).raise_for_status()
        time.sleep(1.0)
        assert not (tmp_path / "imported").exists() and not (tmp_path / "audit.jsonl").exists()
        listed = httpx.get(proc.url + "/api/plugins").json()
        assert listed["enabled"] == [] and listed["errors"] == []
    finally:
        proc.stop()
