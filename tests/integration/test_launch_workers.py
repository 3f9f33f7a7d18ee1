"""Launching on ``serve --workers 2`` (PostgreSQL + Redis): each request lands on either worker, the launch
watcher runs in one of them. Job states are recorded once each, exit codes of jobs deployed by the worker that
does not watch are reported (not ``lost``), and a cancel sent while the deploy still runs stops the job.

The server waits ``TRAINBOARD_TEST_DEPLOY_DELAY`` seconds before each (real, local) deploy: the window in which
a cancel used to be lost."""

from __future__ import annotations

import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from tests.support.launch import TRAIN, ended, events, job_pids, wait_for
from tests.support.scale import PrivateRedis
from tests.support.servers import API_HEADERS, ServerProcess, postgres_database

pytestmark = pytest.mark.postgres

DEPLOY_DELAY = 1.5


class _DelayedServer(ServerProcess):
    def env(self) -> dict[str, str]:
        return {**super().env(), "TRAINBOARD_TEST_DEPLOY_DELAY": str(DEPLOY_DELAY)}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    base = tmp_path_factory.mktemp("launch-workers")
    root = base / "root"
    root.mkdir()
    (root / "train.py").write_text(TRAIN)
    redis = PrivateRedis(base / "redis").start()
    try:
        with postgres_database() as db:
            server = _DelayedServer(
                base / "data",
                db,
                extra_args=[
                    "--workers",
                    "2",
                    "--redis",
                    redis.url,
                    "--allow-launch",
                    "--launch-root",
                    str(root),
                    "--cancel-grace",
                    "2",
                ],
            ).start(timeout=90)
            try:
                assert server.proc is not None
                deadline = time.monotonic() + 30
                while len(psutil.Process(server.proc.pid).children()) < 2 and time.monotonic() < deadline:
                    time.sleep(0.2)
                yield server
            finally:
                server.stop()
    finally:
        redis.stop()


def _post(url: str, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
    # a new connection per request: the kernel hands each to either worker
    return httpx.post(f"{url}{path}", json=body, headers=API_HEADERS, timeout=60)


def _launch(url: str, name: str, *args: str) -> str:
    resp = _post(url, "/api/launch", {"provider": "local", "argv": [sys.executable, "train.py", *args], "name": name})
    assert resp.status_code == 201, resp.text
    return str(resp.json()["id"])


def _job_states(http: httpx.Client, run_id: str) -> list[str]:
    return [e["data"]["state"] for e in events(http, run_id) if e["kind"] == "job_state"]


def test_job_states_are_recorded_once_and_exit_codes_reach_the_run_whichever_worker_deployed(
    cluster: ServerProcess,
) -> None:
    outcomes = ["0", "3", "0", "3"]
    run_ids: list[str] = [""] * len(outcomes)

    def one(i: int, code: str) -> None:
        run_ids[i] = _launch(cluster.url, f"multi-{i}", "4", code)

    threads = [threading.Thread(target=one, args=(i, code)) for i, code in enumerate(outcomes)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert all(run_ids)
    with cluster.client() as http:
        finals: dict[str, str] = {}
        for run_id, code in zip(run_ids, outcomes, strict=True):
            run = ended(http, run_id)
            expected = ("completed", 0) if code == "0" else ("failed", 3)
            assert (run["status"], run["exit_code"]) == expected, run
            finals[run_id] = "completed" if code == "0" else "failed"

        def recorded() -> bool:
            return all(final in _job_states(http, run_id) for run_id, final in finals.items())

        wait_for("the final job states", recorded, 15)
        time.sleep(1.0)  # a second watcher, were there one, would have recorded its copies by now
        for run_id, code in zip(run_ids, outcomes, strict=True):
            states = _job_states(http, run_id)
            assert [s for s, n in Counter(states).items() if n > 1] == [], states
            assert states[-1] == finals[run_id] and "lost" not in states
            assert http.get(f"/api/runs/{run_id}/launch").json()["exit_code"] == int(code)


def test_a_cancel_sent_while_the_deploy_runs_stops_the_job_and_interrupts_the_run(cluster: ServerProcess) -> None:
    launched: dict[str, Any] = {}

    def deploy() -> None:
        resp = _post(
            cluster.url,
            "/api/launch",
            {"provider": "local", "argv": [sys.executable, "train.py", "600"], "name": "cancel-early"},
        )
        launched["status"] = resp.status_code
        launched["run"] = resp.json()

    thread = threading.Thread(target=deploy)
    thread.start()
    with cluster.client() as http:
        found = wait_for(
            "the queued run",
            lambda: [r for r in http.get("/api/runs", params={"name": "cancel-early"}).json()["runs"]],
            10,
            0.05,
        )
        run_id = found[0]["id"]
        record = http.get(f"/api/runs/{run_id}/launch").json()
        assert record["job_id"] is None  # the deploy has not returned yet
        cancel = _post(cluster.url, f"/api/runs/{run_id}/cancel")
        assert cancel.status_code == 200, cancel.text
        thread.join(30)
        assert launched["status"] == 201 and launched["run"]["id"] == run_id
        run = ended(http, run_id, 30)
        assert run["status"] == "interrupted"
        messages = [e["message"] for e in events(http, run_id)]
        assert any("cancelled by local" in m for m in messages), messages
        assert any(m.startswith("cancel by local") and "during its deploy" in m for m in messages), messages
        record = http.get(f"/api/runs/{run_id}/launch").json()
        assert record["job_id"] and record["finished"] and record["state"] == "cancelled"
        assert _job_states(http, run_id).count("cancelled") == 1
        data = cluster.data_dir
        wait_for("the job's processes to end", lambda: job_pids(data, run_id) == [], 15)
        assert b"step 10" not in http.get(f"/api/runs/{run_id}/logs").content  # stopped, not run to its end


def test_deleting_an_ended_run_on_any_worker_removes_its_job_files(cluster: ServerProcess) -> None:
    run_id = _launch(cluster.url, "to-delete", "1")
    jobs: Path = cluster.data_dir / "launch" / "local"
    with cluster.client() as http:
        ended(http, run_id)
        wait_for("the launch to finish", lambda: http.get(f"/api/runs/{run_id}/launch").json()["finished"], 15)
    assert (jobs / f"{run_id}.json").is_file() and (jobs / f"{run_id}.log").is_file()
    resp = httpx.delete(f"{cluster.url}/api/runs/{run_id}", headers=API_HEADERS, timeout=30)
    assert resp.status_code == 200, resp.text
    assert not (jobs / f"{run_id}.json").exists() and not (jobs / f"{run_id}.log").exists()
