"""``trainboard alert`` and the failure diagnosis through the real entry points: the CLI against a real
server, and a crashing script under ``trainboard run``."""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.support.alert_receivers import http_receiver
from tests.support.cli import cli
from tests.support.servers import ServerProcess


@pytest.fixture
def server(make_server: Callable[..., ServerProcess]) -> ServerProcess:
    made: ServerProcess = make_server(start=False)
    return made.start(timeout=120)


def wait_alert(http: httpx.Client, run_id: str, timeout: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = http.get("/api/alerts", params={"run_id": run_id}).json()["alerts"]
        if found:
            return dict(found[0])
        time.sleep(0.2)
    raise AssertionError(f"no alert for run {run_id}")


CRASH = """\
import sys
print("step 1 loss 0.9", flush=True)
def train_step():
    raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 79.10 GiB total capacity)")
train_step()
"""


def test_alert_add_list_test_remove_and_a_crash_diagnosed(
    server: ServerProcess, http: httpx.Client, tmp_path: Path
) -> None:
    env = server.env()
    with http_receiver() as hook:
        added = cli(
            "alert", "add", "crashed", "--project", "cli", "--kind", "status",
            "--channel", f"json://{hook.url}/hook?secret_param=1", env=env,
        )  # fmt: skip
        assert added.returncode == 0, added.stderr
        rule_id = re.search(r"rule (\d+)", added.stdout)
        assert rule_id is not None and "run failed or interrupted" in added.stdout

        listed = cli("alert", "list", env=env)
        assert listed.returncode == 0 and "crashed" in listed.stdout and "secret_param" not in listed.stdout

        tested = cli("alert", "test", rule_id[1], env=env)
        assert tested.returncode == 0, tested.stdout + tested.stderr
        assert "TEST" in hook.wait_for(lambda r: True).json()["title"]

        bad = cli("alert", "add", "x", "--project", "cli", "--kind", "threshold", "--key", "loss", env=env)
        assert bad.returncode == 1 and "value" in bad.stderr  # the missing parameter is named

        script = tmp_path / "train.py"
        script.write_text(CRASH)
        ran = cli("run", "--project", "cli", "--name", "oom", "--", sys.executable, str(script), env=env, timeout=120)
        assert ran.returncode == 1
        run_id = http.get("/api/runs").json()
        runs = run_id["runs"] if isinstance(run_id, dict) else run_id
        oom = next(r for r in runs if r["name"] == "oom")
        alert = wait_alert(http, oom["id"])
        assert alert["state"] == "firing"
        assert "CUDA out of memory: tried to allocate 2.00 GiB" in alert["message"]
        assert "train.py:4" in alert["message"]
        sent = hook.wait_for(lambda r: "FIRING" in r.json().get("title", ""))
        assert "CUDA out of memory" in sent.json()["message"]
        # the diagnosis is the run's status reason, for anyone who opens the run (CONTRACT: run `status_reason`)
        failed = http.get(f"/api/runs/{oom['id']}").json()
        assert failed["status"] == "failed"
        assert "CUDA out of memory: tried to allocate 2.00 GiB" in failed["status_reason"]

        removed = cli("alert", "remove", rule_id[1], env=env)
        assert removed.returncode == 0
        assert "crashed" not in cli("alert", "list", env=env).stdout
