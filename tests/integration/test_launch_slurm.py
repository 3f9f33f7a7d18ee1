"""The ``slurm`` provider against a real single-node SLURM cluster (munged, slurmctld, slurmd on 127.0.0.1).

One cluster and one launch-enabled server per file; each test launches through ``POST /api/launch`` and watches
the run through the API like the dashboard does.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.support.engines import SlurmCluster, slurm_cluster
from tests.support.launching import (
    ARGV_EXIT3_SCRIPT,
    CLIENT,
    SHELL_WORDS,
    SLEEPER_SCRIPT,
    TRAIN_SCRIPT,
    assert_failed_with_exit_3,
    follow_live_then_cancel,
    launch,
    launch_server,
    native_log,
    stored_output,
    wait_launch,
    wait_record,
    wait_status,
    write_script,
)
from tests.support.servers import ServerProcess

from trainboard.server.providers.base import ProviderContext
from trainboard.server.providers.slurm import create


@pytest.fixture(scope="module")
def cluster() -> Iterator[SlurmCluster]:
    with slurm_cluster() as c:
        yield c


@pytest.fixture(scope="module")
def launch_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("slurm-root")


@pytest.fixture(scope="module")
def server(
    cluster: SlurmCluster, launch_root: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    data = tmp_path_factory.mktemp("slurm-data")
    # the jobs' own trainboard client spools in a private directory, not in ~/.trainboard
    settings = {"client": CLIENT, "slurm_conf": str(cluster.conf), "env": {"TRAINBOARD_DATA": str(data / "client")}}
    with launch_server(data, launch_root, {"slurm": settings}, cancel_grace=3) as srv:
        yield srv


@pytest.fixture
def http(server: ServerProcess) -> Iterator[httpx.Client]:
    with server.client() as c:
        yield c


@pytest.fixture(scope="module")
def failing(server: ServerProcess, launch_root: Path) -> dict[str, str]:
    """The failure scenarios, launched at once (the slurm jobs run side by side): name -> run id."""
    script = write_script(launch_root, "argv_exit3.py", ARGV_EXIT3_SCRIPT)
    with server.client() as http:
        ids = {
            "exit3": launch(http, "slurm", [sys.executable, str(script), *SHELL_WORDS], cwd=str(launch_root))["id"],
            "missing": launch(http, "slurm", ["no-such-program-tb", "--flag"], cwd=str(launch_root))["id"],
        }
    return ids


def test_exit_3_is_failed_exit_3(http: httpx.Client, failing: dict[str, str], launch_root: Path) -> None:
    assert_failed_with_exit_3(http, failing["exit3"], launch_root)


def test_find_names_the_job_of_a_run(
    http: httpx.Client, failing: dict[str, str], server: ServerProcess, cluster: SlurmCluster
) -> None:
    """What the launch watcher asks when the server deploying a run died before it stored the job id."""
    rid = failing["exit3"]
    job_id = http.get(f"/api/runs/{rid}/launch").json()["job_id"]
    context = ProviderContext(state_dir=server.data_dir / "find", launch_root=None, server_url=server.url)
    provider = create({"slurm_conf": str(cluster.conf)}, context)
    assert provider.find(rid) == job_id
    assert provider.find(rid[:-1]) is None and provider.find("no-such-run") is None


def test_cluster_listens_on_loopback_only(cluster: SlurmCluster) -> None:
    sockets = [addr for addr, _ in cluster.listening()]
    assert len(sockets) >= 2, sockets  # slurmctld and slurmd
    assert all(addr.startswith(("127.0.0.1:", "[::ffff:127.0.0.1]:")) for addr in sockets), sockets


def test_provider_is_listed_reachable(http: httpx.Client) -> None:
    providers = {p["name"]: p for p in http.get("/api/providers").json()["providers"]}
    slurm = providers["slurm"]
    assert slurm["reachable"] is True, slurm
    assert "UP" in slurm["detail"]
    assert slurm["capabilities"]["gpus"] and slurm["capabilities"]["time_limit"]


def test_live_output_metrics_and_cancel(http: httpx.Client, server: ServerProcess, launch_root: Path) -> None:
    script = write_script(launch_root, "train.py", TRAIN_SCRIPT)
    run = launch(
        http,
        "slurm",
        [sys.executable, str(script), "600"],
        cwd=str(launch_root),
        name="slurm-train",
        resources={"cpus": 1, "memory_mb": 256, "time_limit": 600},
    )
    rid = run["id"]
    job = http.get(f"/api/runs/{rid}/launch").json()
    assert job["provider"] == "slurm" and job["job_id"].isdigit()
    shown = subprocess.run(
        ["scontrol", "show", "job", "--oneliner", job["job_id"]],
        capture_output=True,
        text=True,
        env=dict(os.environ) | {"SLURM_CONF": job_conf(server)},
        check=True,
    ).stdout
    assert "NumCPUs=1" in shown and "MinMemoryNode=256M" in shown and "TimeLimit=00:10:00" in shown

    follow_live_then_cancel(http, server.url, rid)


def job_conf(server: ServerProcess) -> str:
    text = (server.data_dir / "providers.toml").read_text()
    return text.split('slurm_conf = "', 1)[1].split('"', 1)[0]


def test_missing_command_fails_with_the_message(http: httpx.Client, failing: dict[str, str]) -> None:
    rid = failing["missing"]
    run = wait_status(http, rid, {"completed", "failed", "interrupted"})
    assert run["status"] == "failed" and run["exit_code"] == 127
    record = wait_launch(http, rid)
    assert record["state"] == "failed" and record["exit_code"] == 127
    # the job's own output file (the native log) says what went wrong
    native = native_log(http, rid)
    assert b"no-such-program-tb" in native and b"No such file or directory" in native, native


def test_a_waiting_job_is_queued_with_slurms_reason(http: httpx.Client, launch_root: Path) -> None:
    sleeper = write_script(launch_root, "sleeper.py", SLEEPER_SCRIPT)
    argv = [sys.executable, str(sleeper)]
    holder = launch(http, "slurm", argv, cwd=str(launch_root), resources={"cpus": 2})["id"]
    wait_status(http, holder, {"running"})
    waiting = launch(http, "slurm", argv, cwd=str(launch_root), resources={"cpus": 2})["id"]
    record = wait_record(http, waiting, "PENDING")
    assert record["state"] == "queued"
    deadline = time.monotonic() + 20
    while not record["reason"] and time.monotonic() < deadline:  # the scheduler gives its reason on its next pass
        time.sleep(0.3)
        record = http.get(f"/api/runs/{waiting}/launch").json()
    assert record["reason"] in ("waiting: Resources", "waiting: Priority"), record
    assert http.get(f"/api/runs/{waiting}").json()["status"] == "queued"
    # cancelling a queued job removes it: the run ends interrupted without any output
    assert http.post(f"/api/runs/{waiting}/cancel").status_code == 200
    assert wait_status(http, waiting, {"interrupted", "failed", "completed"})["status"] == "interrupted"
    assert wait_launch(http, waiting)["state"] == "cancelled"
    assert stored_output(http, waiting) == b""
    assert http.post(f"/api/runs/{holder}/cancel").status_code == 200
    assert wait_status(http, holder, {"interrupted", "failed", "completed"})["status"] == "interrupted"


def test_gpus_the_cluster_lacks_are_refused_by_slurm(http: httpx.Client, launch_root: Path) -> None:
    resp = http.post(
        "/api/launch",
        json={"provider": "slurm", "argv": ["true"], "cwd": str(launch_root), "resources": {"gpus": 1}},
    )
    assert resp.status_code == 502, resp.text
    assert "sbatch" in resp.json()["detail"] and "gres" in resp.json()["detail"].lower()
