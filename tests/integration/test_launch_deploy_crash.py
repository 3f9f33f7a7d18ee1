"""A server process killed (SIGKILL) in the middle of a deploy, after the run is ``queued`` and before the job id
is stored: another server process notices that the deployer is gone and either adopts the job the provider
has for that run or fails the run with "the server deploying it stopped". The test hooks pause the real deploy
before (``TRAINBOARD_TEST_DEPLOY_DELAY``) or after (``TRAINBOARD_TEST_DEPLOYED_DELAY``) the provider call, which
makes the window deterministic."""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path

import httpx
import pytest
from tests.support.launch import ended, events, job_pids, kill_tree, launch_server, run_of, wait_for
from tests.support.servers import ServerProcess, postgres_database

STOPPED = "the server deploying it stopped"


def _launch_in_background(server: ServerProcess, body: Mapping[str, object]) -> str:
    """POST /api/launch from a thread (the server pauses inside it); the id of the queued run it created."""

    def post() -> None:
        try:
            with server.client() as http:
                http.post("/api/launch", json=body)
        except httpx.HTTPError:
            pass  # the server is killed while it answers

    threading.Thread(target=post, daemon=True).start()
    with server.client() as http:
        runs = wait_for(
            "the queued run",
            lambda: [r for r in http.get("/api/runs").json()["runs"] if r["status"] == "queued"],
            20,
            0.05,
        )
        run_id = str(runs[0]["id"])
        record = http.get(f"/api/runs/{run_id}/launch").json()
        assert record["job_id"] is None and run_of(http, run_id)["status"] == "queued"  # still deploying
    return run_id


def test_a_job_deployed_by_a_killed_server_is_adopted_by_the_next_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The deploy started the local job, then the server died before storing its id; the restarted server
    finds the job for the run, follows it, and the run completes with the job's output."""
    monkeypatch.setenv("TRAINBOARD_TEST_DEPLOYED_DELAY", "60")
    server = launch_server(tmp_path / "root", tmp_path / "data")
    run_id = ""
    try:
        body = {"provider": "local", "argv": [sys.executable, "train.py", "30"], "name": "orphan"}
        run_id = _launch_in_background(server, body)
        wait_for("the job to start", lambda: job_pids(server.data_dir, run_id), 20)
        server.kill(signal.SIGKILL)
        monkeypatch.delenv("TRAINBOARD_TEST_DEPLOYED_DELAY")
        server.start()  # same data and port: the job's `trainboard run` reaches it again
        with server.client() as http:
            record = wait_for(
                "the job to be adopted", lambda: (r := http.get(f"/api/runs/{run_id}/launch").json())["job_id"] and r
            )
            assert record["job_id"] == run_id and record["provider"] == "local"
            run = ended(http, run_id, 90)
            assert run["status"] == "completed", run
            assert b"step 29" in http.get(f"/api/runs/{run_id}/logs").content
            adopted = [e for e in events(http, run_id) if "adopted" in e["message"]]
            assert len(adopted) == 1 and STOPPED in adopted[0]["message"]
    finally:
        if run_id:
            kill_tree(job_pids(server.data_dir, run_id))
        server.stop()


def test_a_run_its_job_took_over_is_left_to_the_job_when_the_provider_lost_the_job(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The job's `trainboard run` already runs the run, but the provider no longer shows the job (here: its
    record is gone, as a SLURM job leaves the controller's memory): the launch is closed as lost and the run is
    not failed: the job completes it."""
    monkeypatch.setenv("TRAINBOARD_TEST_DEPLOYED_DELAY", "60")
    server = launch_server(tmp_path / "root", tmp_path / "data")
    pids: list[int] = []
    try:
        body = {"provider": "local", "argv": [sys.executable, "train.py", "40"], "name": "untracked"}
        run_id = _launch_in_background(server, body)
        pids = wait_for("the job to start", lambda: job_pids(server.data_dir, run_id), 20)
        with server.client() as http:
            wait_for("the job to take the run over", lambda: run_of(http, run_id)["status"] == "running", 30)
        server.kill(signal.SIGKILL)
        (server.data_dir / "launch" / "local" / f"{run_id}.json").unlink()
        monkeypatch.delenv("TRAINBOARD_TEST_DEPLOYED_DELAY")
        server.start()
        with server.client() as http:
            record = wait_for(
                "the launch to be closed",
                lambda: (r := http.get(f"/api/runs/{run_id}/launch").json())["finished"] and r,
            )
            assert record["state"] == "lost" and record["job_id"] is None and STOPPED in record["reason"]
            assert run_of(http, run_id)["status"] == "running"
            run = ended(http, run_id, 90)
            assert run["status"] == "completed" and run["exit_code"] == 0
    finally:
        kill_tree(pids)
        server.stop()


@pytest.mark.postgres
def test_a_second_server_fails_the_run_of_a_deploy_killed_before_the_provider_was_called(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two servers on one PostgreSQL database: the launch watcher runs in the first; the second is killed while
    it deploys. While the deployer lives its launch is left alone; once it is gone the run fails, with the
    reason, and nothing was started. A launch cancelled before its deployer died ends interrupted."""
    root = tmp_path / "root"
    with postgres_database() as db:
        watcher = ServerProcess(
            data_dir=tmp_path / "a", db_url=db, extra_args=["--allow-launch", "--launch-root", str(root)]
        )
        root.mkdir()
        (root / "train.py").write_text("print('never')\n")
        watcher.start()
        monkeypatch.setenv("TRAINBOARD_TEST_DEPLOY_DELAY", "60")
        deployer = ServerProcess(
            data_dir=tmp_path / "b", db_url=db, extra_args=["--allow-launch", "--launch-root", str(root)]
        )
        try:
            time.sleep(3)  # the first server takes the leader lock (tries every 2 s)
            deployer.start()
            run_id = _launch_in_background(deployer, {"provider": "local", "argv": [sys.executable, "train.py"]})
            with watcher.client() as http:
                time.sleep(3)  # several watcher rounds: a live deployer's launch is not touched
                assert run_of(http, run_id)["status"] == "queued"
                assert http.get(f"/api/runs/{run_id}/launch").json()["state"] == "queued"
                deployer.kill(signal.SIGKILL)
                run = ended(http, run_id, 30)
                assert run["status"] == "failed"
                record = http.get(f"/api/runs/{run_id}/launch").json()
                assert record["job_id"] is None and record["finished"] is True
                assert record["state"] == "failed" and record["reason"] == STOPPED
                messages = " ".join(e["message"] for e in events(http, run_id))
                assert STOPPED in messages
            assert not (tmp_path / "b" / "launch" / "local" / f"{run_id}.json").exists()  # no job was started

            # cancelled while it deploys, then the deployer dies: the run ends interrupted, as asked
            deployer.start()
            run_id = _launch_in_background(deployer, {"provider": "local", "argv": [sys.executable, "train.py"]})
            with watcher.client() as http:
                assert http.post(f"/api/runs/{run_id}/cancel").status_code == 200
                time.sleep(2)
                assert run_of(http, run_id)["status"] == "queued"  # its deployer still lives and applies it
                deployer.kill(signal.SIGKILL)
                run = ended(http, run_id, 30)
                assert run["status"] == "interrupted"
                record = http.get(f"/api/runs/{run_id}/launch").json()
                assert record["state"] == "cancelled" and record["finished"] is True
                assert record["reason"] == f"cancelled by local ({STOPPED})"
        finally:
            deployer.stop()
            watcher.stop()
