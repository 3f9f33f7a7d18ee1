"""A period in which the SDK could not reach the server becomes an event of the run (issue 22: "into the run's
events where the server should know"), besides one line on the real stderr: the server is SIGKILLed mid-run and
started again; the run's event log then holds ``server_unreachable`` with the span and what was delivered late.
The endpoint itself (``POST /api/runs/{run_id}/events``) takes a report once however often it is sent.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from tests.support.servers import API_HEADERS, ServerProcess

TRAIN = """
import sys, time
from trainboard import TrainingMonitor
mon = TrainingMonitor(run_name="outage", dashboard_url=sys.argv[1], data_dir=sys.argv[2], system_metrics=False,
                      capture_output=False, flush_timeout=60)
print(mon.run_id, flush=True)
for step in range(6000):
    mon.log_metrics({"loss": 1.0 / (step + 1)}, step=step)
    time.sleep(0.001)
mon.finish()
"""


def test_an_outage_is_an_event_of_the_run(make_server: Callable[..., ServerProcess], tmp_path: Path) -> None:
    server = make_server(start=False).start(timeout=120)  # (starts take long on a busy machine)
    script = tmp_path / "train.py"
    script.write_text(TRAIN)
    proc = subprocess.Popen(
        [sys.executable, str(script), server.url, str(tmp_path / "client")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    run_id = proc.stdout.readline().strip()
    time.sleep(1.0)
    server.kill()
    time.sleep(2.0)  # training goes on, spooling
    server.start(timeout=120)
    _out, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, err
    said = [line for line in err.splitlines() if "server unreachable" in line]
    assert len(said) == 1, err  # once, on the real stderr
    assert re.search(r"server unreachable \d\d:\d\d:\d\d–\d\d:\d\d:\d\d \(\d+ s\); [\d,]+ records", said[0])
    events = httpx.get(f"{server.url}/api/runs/{run_id}/events", timeout=30).json()["events"]
    outages = [e for e in events if e["kind"] == "server_unreachable"]
    assert len(outages) == 1, (events, err)
    event = outages[0]
    assert event["message"] == said[0].removeprefix("trainboard: ")
    data = event["data"]
    assert data["until"] > data["since"] and data["until"] - data["since"] >= 2.0
    assert data["records"] > 0 and data["bytes"] > 0
    points = httpx.get(f"{server.url}/api/runs/{run_id}/metrics", params={"keys": "loss"}, timeout=30).json()
    assert points["metrics"]["loss"]["count"] == 6000  # and nothing lost, as ever


def test_a_report_is_taken_once_and_checked(make_server: Callable[..., ServerProcess]) -> None:
    server = make_server(start=False).start(timeout=120)
    with httpx.Client(base_url=server.url, headers=API_HEADERS, timeout=30) as http:
        run_id = http.post("/api/runs", json={"name": "reports"}).json()["id"]
        body = {
            "id": "abc123",
            "kind": "server_unreachable",
            "message": "server unreachable 10:00:00–10:00:30 (30 s); 12 records (3,456 bytes) delivered late",
            "since": 1_800_000_000.0,
            "until": 1_800_000_030.0,
            "records": 12,
            "bytes": 3456,
        }
        first = http.post(f"/api/runs/{run_id}/events", json=body)
        again = http.post(f"/api/runs/{run_id}/events", json=body)  # a journal retry after a lost answer
        assert first.status_code == again.status_code == 201
        assert first.json()["id"] == again.json()["id"]
        kinds = [e["kind"] for e in http.get(f"/api/runs/{run_id}/events").json()["events"]]
        assert kinds.count("server_unreachable") == 1
        wrong = http.post(f"/api/runs/{run_id}/events", json=body | {"kind": "anything"})
        assert wrong.status_code == 422 and "kind" in str(wrong.json()["detail"])
        negative = http.post(f"/api/runs/{run_id}/events", json=body | {"records": -1})
        assert negative.status_code == 422 and "records" in str(negative.json()["detail"])
        missing = http.post("/api/runs/no-such-run/events", json=body)
        assert missing.status_code == 404


ENDS_WHILE_DOWN = """
import sys, time
from trainboard import TrainingMonitor
mon = TrainingMonitor(run_name="ends-down", dashboard_url=sys.argv[1], data_dir=sys.argv[2], system_metrics=False,
                      capture_output=False, flush_timeout=2)
print(mon.run_id, flush=True)
sys.stdin.readline()  # the test has killed the server
for step in range(500):
    mon.log_metrics({"loss": 1.0 / (step + 1)}, step=step)
mon.finish()
"""


def test_a_process_that_ends_while_the_server_is_down_reports_it_through_sync(
    make_server: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    """Issue 22: the outage was only reported when the server came back during the process; one that ended
    first left no trace of why its end came late. The report now waits in the journal behind the data."""
    server = make_server(start=False).start(timeout=120)
    script = tmp_path / "train.py"
    script.write_text(ENDS_WHILE_DOWN)
    proc = subprocess.Popen(
        [sys.executable, str(script), server.url, str(tmp_path / "client")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdin is not None
    run_id = proc.stdout.readline().strip()
    time.sleep(1.0)
    server.kill()
    proc.stdin.write("go\n")
    proc.stdin.flush()
    _out, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, err
    assert "until the process ended at" in err, err
    server.start(timeout=120)
    synced = subprocess.run(
        [
            str(Path(sys.executable).with_name("trainboard")),
            "sync",
            "--data",
            str(tmp_path / "client"),
            "--url",
            server.url,
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert synced.returncode == 0, synced.stdout + synced.stderr
    events = httpx.get(f"{server.url}/api/runs/{run_id}/events", timeout=30).json()["events"]
    outages = [e for e in events if e["kind"] == "server_unreachable"]
    assert len(outages) == 1, events
    assert "until the process ended at" in outages[0]["message"]
    assert outages[0]["data"]["bytes"] > 0 and outages[0]["data"]["records"] >= 1
    points = httpx.get(f"{server.url}/api/runs/{run_id}/metrics", params={"keys": "loss"}, timeout=30).json()
    assert points["metrics"]["loss"]["count"] == 500
