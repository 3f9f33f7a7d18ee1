"""``trainboard launch`` / ``trainboard cancel`` against a real server with ``--allow-launch``."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.launch import ended, launch_server, run_of, wait_for
from tests.support.servers import ServerProcess


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    root = tmp_path_factory.mktemp("root")
    proc = launch_server(root, tmp_path_factory.mktemp("data"))
    yield proc
    proc.stop()


def cli(server: ServerProcess, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = server.env() | {"COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "trainboard.cli", *args], capture_output=True, text=True, env=env, timeout=timeout
    )


def test_follow_streams_the_output_and_exits_with_the_jobs_code(server: ServerProcess) -> None:
    done = cli(server, "launch", "--provider", "local", "--follow", "--", sys.executable, "train.py", "4", "3")
    assert done.returncode == 3, done.stderr
    assert "step 3" in done.stdout
    assert f"{server.url}/runs/" in done.stderr and "failed (exit 3)" in done.stderr


def test_follow_of_a_successful_job_exits_0(server: ServerProcess) -> None:
    done = cli(server, "launch", "-f", "--", sys.executable, "-c", "print('fine')")
    assert done.returncode == 0, done.stderr
    assert "fine" in done.stdout


def test_without_follow_it_prints_the_run_url_and_cancel_stops_it(server: ServerProcess) -> None:
    done = cli(server, "launch", "--name", "to-cancel", "--", sys.executable, "train.py", "600")
    assert done.returncode == 0, done.stderr
    url = done.stdout.strip()
    assert url.startswith(f"{server.url}/runs/")
    run_id = url.rsplit("/", 1)[1]
    with server.client() as http:
        wait_for("output", lambda: b"step 1" in http.get(f"/api/runs/{run_id}/logs").content, 60)
        stopped = cli(server, "cancel", "to-cancel")  # a run name works as for the other commands
        assert stopped.returncode == 0, stopped.stderr
        assert run_id in stopped.stdout
        assert ended(http, run_id, 30)["status"] == "interrupted"
        again = cli(server, "cancel", run_id)
        assert again.returncode == 1 and "already ended" in again.stderr


def test_refusals_are_one_line_messages(server: ServerProcess, tmp_path: Path) -> None:
    bad = cli(server, "launch", "--env", "LD_PRELOAD=/x.so", "--", "true")
    assert bad.returncode == 1 and "LD_PRELOAD" in bad.stderr and "Traceback" not in bad.stderr
    gpus = cli(server, "launch", "--gpus", "2", "--", "true")
    assert gpus.returncode == 1 and "resources.gpus" in gpus.stderr
    usage = cli(server, "launch", "--env", "NOEQUALS", "--", "true")
    assert usage.returncode == 2 and "KEY=VALUE" in usage.stderr
    missing = cli(server, "launch", "--secret", "NOT_SET_ANYWHERE_7", "--", "true")
    assert missing.returncode == 2 and "NOT_SET_ANYWHERE_7" in missing.stderr
    empty = cli(server, "launch", "--provider", "local")
    assert empty.returncode == 2 and "no command" in empty.stderr
    off = ServerProcess(data_dir=tmp_path / "off", db_url=None)
    refused = cli(off, "launch", "--", "true")  # nothing listens there
    assert refused.returncode == 1 and "cannot reach" in refused.stderr


def test_a_missing_program_shows_the_failure(server: ServerProcess) -> None:
    done = cli(server, "launch", "-f", "--", "no-such-program-81c")
    assert done.returncode == 127
    assert "cannot start 'no-such-program-81c'" in done.stdout + done.stderr
    with server.client() as http:
        runs = http.get("/api/runs", params={"name": "no-such-program-81c"}).json()["runs"]
        assert run_of(http, runs[0]["id"])["status"] == "failed"


def test_run_id_attaches_trainboard_run_to_a_queued_run(server: ServerProcess, tmp_path: Path) -> None:
    with server.client() as http:
        run_id = http.post("/api/runs", json={"id": "pre-made-run-1", "name": "pre", "status": "queued"}).json()["id"]
        assert run_of(http, run_id)["status"] == "queued"
        env = server.env() | {"TRAINBOARD_DATA": str(tmp_path / "client")}
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "trainboard.cli",
                "run",
                "--run-id",
                run_id,
                "--",
                sys.executable,
                "-c",
                "print(42)",
            ],
            capture_output=True,
            env=env,
            timeout=120,
        )
        assert done.returncode == 0 and b"42" in done.stdout
        run = run_of(http, run_id)
        assert (run["status"], run["name"]) == ("completed", "pre")
        assert b"42" in http.get(f"/api/runs/{run_id}/logs").content
        bad = subprocess.run(
            [sys.executable, "-m", "trainboard.cli", "run", "--run-id", "../x", "--", "true"],
            capture_output=True,
            env=env,
            timeout=60,
        )
        assert bad.returncode == 2 and b"--run-id" in bad.stderr
