"""The ``ray`` provider against a real Ray head (``ray start --head``, every component on 127.0.0.1).

One head and one launch-enabled server per file; each test launches through ``POST /api/launch`` and watches the
run through the API like the dashboard does.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.support.engines import RayHead, ray_head
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
from trainboard.server.providers.ray import create


@pytest.fixture(scope="module")
def head() -> Iterator[RayHead]:
    with ray_head() as h:
        yield h


@pytest.fixture(scope="module")
def launch_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("ray-root")


@pytest.fixture(scope="module")
def server(head: RayHead, launch_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    data = tmp_path_factory.mktemp("ray-data")
    # the jobs' own trainboard client spools in a private directory, not in ~/.trainboard
    settings = {"address": head.dashboard_url, "client": CLIENT, "env": {"TRAINBOARD_DATA": str(data / "client")}}
    with launch_server(data, launch_root, {"ray": settings}, cancel_grace=3) as srv:
        yield srv


@pytest.fixture
def http(server: ServerProcess) -> Iterator[httpx.Client]:
    with server.client() as c:
        yield c


@pytest.fixture(scope="module")
def failing(server: ServerProcess, launch_root: Path) -> dict[str, str]:
    """The failure scenarios, launched at once (the ray jobs run side by side): name -> run id."""
    script = write_script(launch_root, "argv_exit3.py", ARGV_EXIT3_SCRIPT)
    with server.client() as http:
        ids = {
            "exit3": launch(http, "ray", [sys.executable, str(script), *SHELL_WORDS], cwd=str(launch_root))["id"],
            "missing": launch(http, "ray", ["no-such-program-tb", "--flag"], cwd=str(launch_root))["id"],
            "no_cwd": launch(http, "ray", ["python", "train.py"], cwd="/nonexistent/tb-dir")["id"],
        }
    return ids


def test_exit_3_is_failed_exit_3(http: httpx.Client, failing: dict[str, str], launch_root: Path) -> None:
    assert_failed_with_exit_3(http, failing["exit3"], launch_root)


def test_find_names_the_job_of_a_run(
    http: httpx.Client, failing: dict[str, str], server: ServerProcess, head: RayHead
) -> None:
    """What the launch watcher asks when the server deploying a run died before it stored the job id."""
    rid = failing["exit3"]
    job_id = http.get(f"/api/runs/{rid}/launch").json()["job_id"]
    context = ProviderContext(state_dir=server.data_dir / "find", launch_root=None, server_url=server.url)
    provider = create({"address": head.dashboard_url}, context)
    assert provider.find(rid) == job_id
    assert provider.find("no-such-run") is None


def test_every_ray_component_listens_on_loopback_only(head: RayHead, http: httpx.Client) -> None:
    # the provider is reachable first: by then the head's agents are up too
    providers = {p["name"]: p for p in http.get("/api/providers").json()["providers"]}
    assert providers["ray"]["reachable"] is True, providers["ray"]
    sockets = [addr for addr, _ in head.listening()]
    assert len(sockets) >= 5, sockets  # GCS, raylet, dashboard, agents, client server
    assert all(addr.startswith(("127.0.0.1:", "[::ffff:127.0.0.1]:")) for addr in sockets), sockets


def test_live_output_metrics_and_cancel(http: httpx.Client, server: ServerProcess, launch_root: Path) -> None:
    script = write_script(launch_root, "train.py", TRAIN_SCRIPT)
    run = launch(
        http,
        "ray",
        [sys.executable, str(script), "600"],
        cwd=str(launch_root),
        name="ray-train",
        resources={"cpus": 1, "memory_mb": 256},
    )
    rid = run["id"]
    assert run["status"] == "queued"
    job = http.get(f"/api/runs/{rid}/launch").json()
    assert job["provider"] == "ray" and job["job_id"] == f"trainboard-{rid}"

    record = follow_live_then_cancel(http, server.url, rid)
    assert record["native_state"] == "STOPPED"
    # Ray's own job log has the same output (trainboard run mirrors it)
    assert b"step 10 " in native_log(http, rid)


def test_missing_command_fails_with_the_message(http: httpx.Client, failing: dict[str, str]) -> None:
    rid = failing["missing"]
    run = wait_status(http, rid, {"completed", "failed", "interrupted"})
    assert run["status"] == "failed" and run["exit_code"] == 127
    record = wait_launch(http, rid)
    assert record["state"] == "failed" and record["exit_code"] == 127
    assert "exit code 127" in (record["reason"] or ""), record  # Ray's own message
    native = native_log(http, rid)
    assert b"no-such-program-tb" in native and b"No such file or directory" in native, native


def test_failure_before_trainboard_run_is_shown_from_ray(http: httpx.Client, failing: dict[str, str]) -> None:
    """A working directory missing on the cluster: the job dies before ``trainboard run`` starts, so only Ray
    knows what happened; the run ends failed with Ray's message and the native log has the shell's words."""
    rid = failing["no_cwd"]
    run = wait_status(http, rid, {"completed", "failed", "interrupted"})
    assert run["status"] == "failed" and run["exit_code"] == 2
    record = wait_launch(http, rid)
    assert record["reason"] and "exit code 2" in record["reason"], record
    native = native_log(http, rid)
    assert b"/nonexistent/tb-dir" in native and b"can't cd" in native, native
    assert stored_output(http, rid) == b""  # trainboard run never ran


def test_a_job_waiting_for_resources_is_queued(http: httpx.Client, launch_root: Path) -> None:
    """The head has 2 CPUs: a job asking for 3 stays PENDING in Ray, queued in trainboard, until cancelled."""
    sleeper = write_script(launch_root, "sleeper.py", SLEEPER_SCRIPT)
    rid = launch(http, "ray", [sys.executable, str(sleeper)], cwd=str(launch_root), resources={"cpus": 3})["id"]
    record = wait_record(http, rid, "PENDING")
    assert record["state"] == "queued"
    assert http.get(f"/api/runs/{rid}").json()["status"] == "queued"
    assert http.post(f"/api/runs/{rid}/cancel").status_code == 200
    assert wait_status(http, rid, {"interrupted", "failed", "completed"})["status"] == "interrupted"
    assert wait_launch(http, rid)["state"] == "cancelled"
    assert stored_output(http, rid) == b""
