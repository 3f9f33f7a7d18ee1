"""Launching on the ``local`` provider through a real server: live output and metrics, cancel, exit codes, a
command that does not exist, a job that ignores SIGTERM, and a server restart while jobs run."""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import httpx
import pytest
from tests.support.launch import ended, events, job_pids, kill_tree, launch_server, run_of, wait_for
from tests.support.servers import ServerProcess


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("launch-root")


@pytest.fixture(scope="module")
def server(root: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = launch_server(root, tmp_path_factory.mktemp("data"), "--cancel-grace", "2")
    yield proc
    proc.stop()


@pytest.fixture
def http(server: ServerProcess) -> Iterator[httpx.Client]:
    with server.client() as client:
        yield client


def launch(http: httpx.Client, *argv: str, **extra: object) -> str:
    resp = http.post("/api/launch", json={"provider": "local", "argv": list(argv), **extra})
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["status"] == "queued"  # until `trainboard run` takes over on the execution side
    return str(body["id"])


def test_providers_lists_local_as_reachable(http: httpx.Client, root: Path) -> None:
    body = http.get("/api/providers").json()
    assert body["enabled"] is True
    [local] = body["providers"]
    assert local["name"] == "local" and local["reachable"] is True
    assert str(root.resolve()) in local["detail"]
    assert "CUDA_VISIBLE_DEVICES" in body["env_allowlist"]


def test_output_and_metrics_arrive_live_and_cancel_interrupts_with_the_signal(
    http: httpx.Client, server: ServerProcess
) -> None:
    run_id = launch(http, sys.executable, "train.py", "600", name="live")
    # live: output and metrics while the job still runs
    live = wait_for("live output", lambda: b"step 5" in http.get(f"/api/runs/{run_id}/logs").content, 60)
    assert live
    assert run_of(http, run_id)["status"] == "running"
    log = http.get(f"/api/runs/{run_id}/logs").content
    assert b"it/s]" in log or b"s/it]" in log  # the tqdm bar, as the terminal got it
    latest = http.get(f"/api/runs/{run_id}/metrics/latest").json()
    assert "loss" in str(latest)
    record = http.get(f"/api/runs/{run_id}/launch").json()
    assert record["provider"] == "local" and record["job_id"] and record["state"] == "running"
    pids = job_pids(server.data_dir, run_id)
    assert len(pids) >= 2  # trainboard run and the script

    resp = http.post(f"/api/runs/{run_id}/cancel")
    assert resp.status_code == 200, resp.text
    run = ended(http, run_id, 30)
    assert run["status"] == "interrupted"
    assert run["exit_code"] == 128 + signal.SIGTERM
    stored = http.get(f"/api/runs/{run_id}/logs").content
    assert b"step 5" in stored and b"step 599" not in stored  # the output up to the cancel
    wait_for("the job's processes to end", lambda: not any(p for p in pids if _alive(p)), 15)
    kinds = {e["kind"]: e for e in events(http, run_id)}
    assert kinds["launch"]["data"]["by"] == "local" and "on local as job" in kinds["launch"]["message"]
    assert kinds["cancel"]["data"]["by"] == "local"
    assert "queued -> running" in " ".join(e["message"] for e in events(http, run_id))
    assert "run 'live' created (queued)" in kinds["run_created"]["message"]
    assert http.post(f"/api/runs/{run_id}/cancel").status_code == 409  # already ended
    wait_for("the job state", lambda: http.get(f"/api/runs/{run_id}/launch").json()["state"] == "cancelled", 15)


def printed(http: httpx.Client, run_id: str, text: bytes) -> bool:
    return text in http.get(f"/api/runs/{run_id}/logs").content


def _alive(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_exit_3_is_failed_with_exit_code_3(http: httpx.Client) -> None:
    run_id = launch(http, sys.executable, "train.py", "3", "3")
    run = ended(http, run_id)
    assert (run["status"], run["exit_code"]) == ("failed", 3)
    assert b"step 2" in http.get(f"/api/runs/{run_id}/logs").content
    wait_for("the job state", lambda: http.get(f"/api/runs/{run_id}/launch").json()["exit_code"] == 3, 15)


def test_a_missing_command_fails_clearly_with_the_native_message(http: httpx.Client) -> None:
    run_id = launch(http, "no-such-program-4e2f", "--x")
    run = ended(http, run_id)
    assert (run["status"], run["exit_code"]) == ("failed", 127)
    why = "cannot start 'no-such-program-4e2f': No such file or directory"
    assert why in " ".join(e["message"] for e in events(http, run_id))
    assert why.encode() in http.get(f"/api/runs/{run_id}/logs").content
    native = http.get(f"/api/runs/{run_id}/launch/logs")
    assert native.status_code == 200 and why.encode() in native.content
    assert native.headers["content-type"] == "application/octet-stream"


def test_a_job_that_ignores_sigterm_is_killed_after_the_grace(
    http: httpx.Client, server: ServerProcess, root: Path
) -> None:
    (root / "stubborn.py").write_text(
        "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nprint('ready', flush=True)\n"
        "while True:\n    time.sleep(0.1)\n"
    )
    run_id = launch(http, sys.executable, "stubborn.py")
    wait_for("ready", lambda: b"ready" in http.get(f"/api/runs/{run_id}/logs").content, 60)
    pids = job_pids(server.data_dir, run_id)
    assert http.post(f"/api/runs/{run_id}/cancel").status_code == 200
    run = ended(http, run_id, 30)
    assert run["status"] == "interrupted"
    wait_for("the stubborn processes to be killed", lambda: not any(_alive(p) for p in pids), 15)
    assert "cancelled by local" in " ".join(e["message"] for e in events(http, run_id))


def test_a_restarted_server_finds_running_jobs_again_and_marks_vanished_ones(server: ServerProcess) -> None:
    """Last in the file: it restarts the module's server."""
    with server.client() as http:
        keep = launch(http, sys.executable, "train.py", "600")
        vanish = launch(http, sys.executable, "train.py", "600")
        for run_id in (keep, vanish):
            wait_for("output", partial(printed, http, run_id, b"step 1"), 60)
    server.kill(signal.SIGKILL)
    kill_tree(job_pids(server.data_dir, vanish))  # trainboard run cannot end its run: the job is gone
    server.start()
    with server.client() as http:
        run = ended(http, vanish, 30)
        assert run["status"] == "interrupted"
        reasons = " ".join(e["message"] for e in events(http, vanish))
        assert "server restart" in reasons
        assert run_of(http, keep)["status"] == "running"
        assert http.get(f"/api/runs/{keep}/launch").json()["state"] == "running"
        before = len(http.get(f"/api/runs/{keep}/logs").content)
        wait_for("more output", lambda: len(http.get(f"/api/runs/{keep}/logs").content) > before, 30)
        assert http.post(f"/api/runs/{keep}/cancel").status_code == 200
        assert ended(http, keep, 30)["status"] == "interrupted"
