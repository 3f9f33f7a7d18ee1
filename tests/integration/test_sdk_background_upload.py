"""What a run could not upload before its process ended is uploaded later by a background uploader, with no
manual step (issue 22): a server unreachable at exit that comes back gets the whole run; never two uploaders
for one journal.

The suite turns the hand-over off for every other test (``tests/conftest.py``: a stray uploader could send an
old run to a later test's server on a reused port); these tests turn it on for their processes.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from tests.support.servers import ServerProcess

from trainboard.sdk import uploader

TRAIN = """
import sys
from trainboard import TrainingMonitor
mon = TrainingMonitor(run_name="late", dashboard_url=sys.argv[1], data_dir=sys.argv[2], system_metrics=False,
                      capture_output=False, flush_timeout=1)
print(mon.run_id, flush=True)
for step in range(2000):
    mon.log_metrics({"loss": 1.0 / (step + 1)}, step=step)
mon.log_output(b"the last line\\r\\n")
mon.finish()
"""


def handing_over(**extra: str) -> dict[str, str]:
    env = dict(os.environ, **extra)
    env[uploader.ENV_BACKGROUND_UPLOAD] = "1"
    return env


def wait_for(check: Callable[[], bool], timeout: float = 90.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    return False


def journals(client: Path) -> list[Path]:
    return list((client / "spool").glob("*/*.journal"))


def test_a_run_ended_while_the_server_was_down_arrives_when_it_comes_back(
    make_server: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    server = make_server(start=False)  # nothing listens while the program runs and ends
    client = tmp_path / "client"
    script = tmp_path / "train.py"
    script.write_text(TRAIN)
    done = subprocess.run(
        [sys.executable, str(script), server.url, str(client)],
        env=handing_over(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    run_id = done.stdout.strip()
    notes = [line for line in done.stderr.splitlines() if "background uploader" in line]
    assert len(notes) == 1, done.stderr  # said once, with where its log is
    log, _lock = uploader.files_for(journals(client)[0])
    assert str(log) in notes[0]
    server.start(timeout=120)  # no `trainboard sync`: the uploader notices the server is back

    def complete() -> bool:
        points = httpx.get(f"{server.url}/api/runs/{run_id}/metrics", params={"keys": "loss"}, timeout=30)
        return points.status_code == 200 and points.json()["metrics"].get("loss", {}).get("count") == 2000

    assert wait_for(complete), log.read_text()
    run = httpx.get(f"{server.url}/api/runs/{run_id}", timeout=30).json()
    assert run["status"] == "completed"
    raw = httpx.get(f"{server.url}/api/runs/{run_id}/logs", timeout=30).content
    assert raw.endswith(b"the last line\r\n")
    assert wait_for(lambda: not journals(client), timeout=30)  # acknowledged: the spool is clean
    assert wait_for(lambda: "done:" in log.read_text(), timeout=30)


def test_trainboard_run_hands_its_tail_over(make_server: Callable[..., ServerProcess], tmp_path: Path) -> None:
    server = make_server(start=False)
    client = tmp_path / "client"
    program = "import sys\nfor i in range(300):\n    print(f'line {i}', flush=True)\n"
    done = subprocess.run(
        [sys.executable, "-m", "trainboard.cli", "run", "--name", "tail", "--flush-timeout", "1", "--url", server.url,
         "--data", str(client), "--system-interval", "0", "--", sys.executable, "-c", program],
        env=handing_over(),
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "line 299"  # mirrored as ever
    assert "background uploader" in done.stderr
    server.start(timeout=120)

    def arrived() -> bool:
        runs = httpx.get(f"{server.url}/api/runs", timeout=30).json()["runs"]
        if not runs or runs[0]["status"] != "completed":
            return False
        raw = httpx.get(f"{server.url}/api/runs/{runs[0]['id']}/logs", timeout=30).content
        return raw.endswith(b"line 299\r\n")

    assert wait_for(arrived)
    raw = httpx.get(f"{server.url}/api/runs", timeout=30).json()["runs"][0]
    text = httpx.get(f"{server.url}/api/runs/{raw['id']}/logs", timeout=30).content
    assert text.count(b"\r\n") == 300 and b"not uploaded" not in text and b"uploader" not in text


def test_never_two_uploaders_for_one_journal(tmp_path: Path) -> None:
    journal = tmp_path / "data" / "spool" / "run-1" / "abc.journal"
    journal.parent.mkdir(parents=True)
    journal.write_bytes(b"POST /api/runs\t{}\n")
    _log, lock = uploader.files_for(journal)
    lock.parent.mkdir(parents=True)
    with open(lock, "a") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)  # an uploader is at work
        second = subprocess.run(
            [sys.executable, "-m", "trainboard.sdk.uploader", str(journal), "http://127.0.0.1:9"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert second.returncode == 2
    assert "another uploader already uploads" in second.stdout
    assert journal.read_bytes() == b"POST /api/runs\t{}\n"  # untouched
