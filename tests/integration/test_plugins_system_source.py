"""The example system source ``trainboard-loadavg``, pip-installed into a folder on ``PYTHONPATH`` and found through
its entry point: ``trainboard run`` samples it for the run only when ``TRAINBOARD_PLUGINS`` enables it, and
``trainboard plugins`` lists it with its version, enabled or not, and whether it detects its source."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.support.plugins import install_plugin
from tests.support.servers import ServerProcess

SCRIPT = """import threading, time, tempfile
files = [tempfile.TemporaryFile() for _ in range(40)]
stop = threading.Event()
threads = [threading.Thread(target=stop.wait) for _ in range(6)]
for t in threads: t.start()
time.sleep(2.0)
stop.set()
print("done", len(files))
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return install_plugin("trainboard-loadavg", tmp_path_factory.mktemp("site"))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = ServerProcess(data_dir=tmp_path_factory.mktemp("data"), db_url=None).start()
    yield proc
    proc.stop()


def run_with(
    server: ServerProcess, site: Path, tmp_path: Path, name: str, plugins: str | None
) -> dict[str, dict[str, Any]]:
    (tmp_path / "train.py").write_text(SCRIPT)
    env = server.env() | {"TRAINBOARD_DATA": str(tmp_path / name), "PYTHONPATH": str(site)}
    env.pop("TRAINBOARD_PLUGINS", None)
    if plugins:
        env["TRAINBOARD_PLUGINS"] = plugins
    cmd = [
        sys.executable,
        "-m",
        "trainboard.cli",
        "run",
        "--name",
        name,
        "--system-interval",
        "0.3",
        "--",
        sys.executable,
        str(tmp_path / "train.py"),
    ]
    done = subprocess.run(cmd, capture_output=True, env=env, timeout=120, check=False)
    assert done.returncode == 0, done.stderr.decode()
    runs = httpx.get(f"{server.url}/api/runs", params={"limit": 100}).json()["runs"]
    rid = next(r["id"] for r in runs if r["name"] == name)
    metrics: dict[str, dict[str, Any]] = httpx.get(f"{server.url}/api/runs/{rid}/metrics").json()["metrics"]
    return metrics


def test_enabled_source_adds_its_keys_for_the_run(server: ServerProcess, site: Path, tmp_path: Path) -> None:
    metrics = run_with(server, site, tmp_path, "with-loadavg", "loadavg")
    assert metrics["sys/loadavg/1m"]["count"] >= 3
    assert max(metrics["sys/loadavg/proc_threads"]["value"]) >= 7  # the command's 6 threads and its main one
    assert max(metrics["sys/loadavg/proc_fds"]["value"]) >= 40  # the command's own open files, not the runner's
    assert metrics["sys/cpu_percent"]["count"] >= 3  # the built-in keys are still there


def test_installed_but_not_enabled_source_is_not_loaded(server: ServerProcess, site: Path, tmp_path: Path) -> None:
    metrics = run_with(server, site, tmp_path, "without-loadavg", None)
    assert not [k for k in metrics if k.startswith("sys/loadavg/")]
    assert "sys/cpu_percent" in metrics


def test_trainboard_plugins_lists_it(site: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(site))
    env.pop("TRAINBOARD_PLUGINS", None)

    def rows(*args: str) -> dict[str, dict[str, Any]]:
        done = subprocess.run(
            [sys.executable, "-m", "trainboard.cli", "plugins", "--json", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=True,
        )
        return {r["name"]: r for r in map(json.loads, done.stdout.splitlines())}

    off = rows()["loadavg"]
    assert off["package"] == "trainboard-loadavg" and off["version"] == "0.1.0"
    assert off["group"] == "trainboard.system_sources" and off["enabled"] is False and off["status"] == "not enabled"
    on = rows("--plugin", "loadavg")["loadavg"]
    assert on["enabled"] is True and on["status"] == "detected: os.getloadavg" and on["error"] is None
    table = subprocess.run(
        [sys.executable, "-m", "trainboard.cli", "plugins"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env | {"COLUMNS": "200"},
        check=True,
    ).stdout
    assert "trainboard-loadavg" in table and "plugin API 1" in table
