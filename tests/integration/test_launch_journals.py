"""What a launched local job could not upload is uploaded by the server once the job has ended.

A real ``trainboard serve --allow-launch`` with authentication on (the job uploads with a token scoped to its
run). The job's end comes while the server is SIGKILLed: its ``trainboard run`` cannot send the last output nor
the exit code, and leaves them in the journal of the job's own client data directory. After the restart the
run ends as the job ended it — every byte of its output, exit code 7 — with no ``trainboard sync`` by anyone,
and the events say what happened. A later job sees none of it (no 403s from replaying another run's journal).
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.support.auth import Seeded, seed
from tests.support.launch import ended, events, job_pids, wait_for
from tests.support.servers import ServerProcess

JOB = r"""
import sys, time
from pathlib import Path

marker = Path(sys.argv[1])
print("started", flush=True)
while not marker.exists():
    time.sleep(0.05)
for i in range(200):
    print(f"after the restart began {i:03d} " + "x" * 40, flush=True)
sys.exit(7)
"""
#: What the job prints, as the run's raw terminal log holds it (a pseudo-terminal turns \n into \r\n).
EXPECTED = b"started\r\n" + b"".join(b"after the restart began %03d %s\r\n" % (i, b"x" * 40) for i in range(200))


@pytest.fixture
def env(tmp_path: Path) -> Iterator[tuple[ServerProcess, Seeded, Path]]:
    data, root = tmp_path / "data", tmp_path / "root"
    root.mkdir()
    (root / "job.py").write_text(JOB)
    server = ServerProcess(data_dir=data, db_url=None, extra_args=["--allow-launch", "--launch-root", str(root)])
    data.mkdir()
    seeded = seed(data)
    server.start()
    try:
        yield server, seeded, root
    finally:
        server.stop()


def _launch(http: httpx.Client, *argv: str) -> str:
    resp = http.post("/api/launch", json={"provider": "local", "argv": [sys.executable, *argv]})
    assert resp.status_code == 201, resp.text
    return str(resp.json()["id"])


def test_a_job_that_ends_while_the_server_is_down_completes_its_run_after_the_restart(
    env: tuple[ServerProcess, Seeded, Path],
) -> None:
    server, seeded, root = env
    marker = root / "go"
    with httpx.Client(base_url=server.url, timeout=30, headers=seeded.headers("ann")) as http:
        run_id = _launch(http, "job.py", str(marker))
        wait_for("the job's first output", lambda: b"started" in http.get(f"/api/runs/{run_id}/logs").content)
    server.kill(signal.SIGKILL)
    marker.touch()  # the job prints the rest and exits 7 while no server listens
    wait_for("the job to end", lambda: not job_pids(server.data_dir, run_id), 90)
    job_dir = server.data_dir / "launch" / "local" / run_id
    assert list((job_dir / "client" / "spool").glob("*/*.journal")), "the job left nothing to upload"
    server.start()
    with httpx.Client(base_url=server.url, timeout=30, headers=seeded.headers("ann")) as http:
        run = ended(http, run_id, 60)
        assert (run["status"], run["exit_code"]) == ("failed", 7)
        assert http.get(f"/api/runs/{run_id}/logs").content == EXPECTED
        # the run ended as the upload went in; the events follow it
        launch = wait_for(
            "the launch to end", lambda: (r := http.get(f"/api/runs/{run_id}/launch").json())["finished"] and r
        )
        assert (launch["state"], launch["exit_code"]) == ("failed", 7)
        messages = [e["message"] for e in events(http, run_id)]
        text = "\n".join(messages)
        assert "uploaded what the job could not send itself" in text, text
        assert "ended while the server was down, exit 7" in text, text
        assert not any("lost" in m or "unknown" in m for m in messages), text
        assert not list((job_dir / "client" / "spool").glob("*/*.journal"))  # sent, so removed
        # the token the server uploaded with was scoped to the run and is revoked
        tokens = http.get("/api/tokens", params={"all": "true"}).json()["tokens"]
        made = [t for t in tokens if t["name"] == f"upload {run_id}"]
        assert made and all(t["revoked"] and t["run_id"] == run_id for t in made), made

        # a later job has its own client data directory: it never sees (nor retries) another run's journal
        later = _launch(http, "-c", "print('later')")
        assert ended(http, later, 60)["status"] == "completed"
        native = http.get(f"/api/runs/{later}/launch/logs").content
        assert b"403" not in native and b"refused" not in native, native
        assert (server.data_dir / "launch" / "local" / later / "client").is_dir()


def test_a_job_found_again_after_a_restart_ends_with_its_exit_code_not_lost(
    env: tuple[ServerProcess, Seeded, Path],
) -> None:
    """The restarted server is not the job's parent, so it cannot reap it; the job's own parent records how it
    ended. Before, such a job got "lost ... exit status unknown" seconds after its run had ended."""
    server, seeded, root = env
    marker = root / "go-2"
    with httpx.Client(base_url=server.url, timeout=30, headers=seeded.headers("ann")) as http:
        run_id = _launch(http, "job.py", str(marker))
        wait_for("the job's first output", lambda: b"started" in http.get(f"/api/runs/{run_id}/logs").content)
    server.kill(signal.SIGKILL)
    server.start()
    with httpx.Client(base_url=server.url, timeout=30, headers=seeded.headers("ann")) as http:
        wait_for("the found-again event", lambda: any("found again" in e["message"] for e in events(http, run_id)))
        marker.touch()  # now the job ends, with the server up: its trainboard run uploads everything itself
        run = ended(http, run_id, 60)
        assert (run["status"], run["exit_code"]) == ("failed", 7)
        launch = wait_for(
            "the launch to end", lambda: (r := http.get(f"/api/runs/{run_id}/launch").json())["finished"] and r
        )
        assert (launch["state"], launch["exit_code"]) == ("failed", 7), launch
        assert "ended after the server found it again, exit 7" in launch["reason"]
        messages = "\n".join(e["message"] for e in events(http, run_id))
        assert "lost" not in messages and "unknown" not in messages, messages
        assert http.get(f"/api/runs/{run_id}/logs").content == EXPECTED
