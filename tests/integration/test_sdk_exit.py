"""However a Python process ends, its run ends right: status, exit code, the reason, every byte the
terminal showed (the traceback included) and every metric. SDK scripts run as subprocesses, with
output capture on, against a real server."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.support.servers import ServerProcess

SCRIPT = r"""
import sys, threading, time
import trainboard
from trainboard import TrainingMonitor

mode, url, data = sys.argv[1:4]
kw = dict(dashboard_url=url, data_dir=data, system_metrics=False, flush_timeout=30)


def train(mon):
    print("RUN", mon.run_id, flush=True)
    for step in range(100):
        mon.log_metrics({"loss": 1.0 / (step + 1)}, step=step)
    print("epoch 1: 100%|##########| 100/100", flush=True)
    print("WARNING: the last words before the end", file=sys.stderr, flush=True)


def fail():
    raise ValueError("boom")


def wait_for_signal():
    print("READY", flush=True)
    while True:
        time.sleep(0.05)


if mode == "with":
    with TrainingMonitor("exit-with", **kw) as mon:
        train(mon)
        fail()
elif mode == "init":
    train(trainboard.init("exit-init", **kw))
    fail()
elif mode == "never":
    train(TrainingMonitor("exit-never", **kw))
elif mode == "exit3":
    train(trainboard.init("exit-3", **kw))
    sys.exit(3)
elif mode == "thread":
    train(TrainingMonitor("exit-thread", **kw))
    worker = threading.Thread(target=fail, name="worker")
    worker.start()
    worker.join()
elif mode == "sigterm":
    train(trainboard.init("exit-sigterm", **kw))
    wait_for_signal()
elif mode == "sigint":
    with TrainingMonitor("exit-sigint", **kw) as mon:
        train(mon)
        wait_for_signal()
"""

# mode -> (process exit status, run status, run exit_code, text in the reason, text the terminal showed)
CASES: dict[str, tuple[int, str, int, str | None, str | None]] = {
    "with": (1, "failed", 1, "ValueError: boom", "ValueError: boom"),
    "init": (1, "failed", 1, "ValueError: boom", "ValueError: boom"),
    "never": (0, "completed", 0, None, None),
    "exit3": (3, "failed", 3, "exit(3)", None),
    "thread": (0, "failed", 0, "in thread 'worker': ValueError: boom", "Exception in thread worker"),
    "sigterm": (128 + signal.SIGTERM, "interrupted", 143, "terminated by SIGTERM", None),
    "sigint": (-signal.SIGINT, "interrupted", 130, "KeyboardInterrupt", "KeyboardInterrupt"),
}


def run_script(mode: str, server: ServerProcess, tmp_path: Path) -> tuple[int, bytes]:
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    proc = subprocess.Popen(
        [sys.executable, str(script), mode, server.url, str(tmp_path / "client")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,  # one stream, as a terminal shows stdout and stderr
    )
    assert proc.stdout is not None
    shown = b""
    if mode in ("sigterm", "sigint"):
        while not shown.endswith(b"READY\n"):
            line = proc.stdout.readline()
            assert line, shown
            shown += line
        proc.send_signal(signal.SIGTERM if mode == "sigterm" else signal.SIGINT)
    rest, _ = proc.communicate(timeout=120)
    return proc.returncode, shown + rest


def get(server: ServerProcess, path: str) -> Any:
    response = httpx.get(server.url + path, timeout=30)
    response.raise_for_status()
    return response.json() if "json" in response.headers.get("content-type", "") else response.content


@pytest.mark.parametrize("mode", list(CASES))
def test_every_exit_path_ends_the_run_with_everything(mode: str, server: ServerProcess, tmp_path: Path) -> None:
    returncode, terminal = run_script(mode, server, tmp_path)
    want_rc, want_status, want_code, want_reason, want_shown = CASES[mode]
    assert returncode == want_rc, terminal.decode(errors="replace")
    run_id = terminal.split(b"RUN ", 1)[1].split(b"\n", 1)[0].decode()

    run = get(server, f"/api/runs/{run_id}")
    assert (run["status"], run["exit_code"]) == (want_status, want_code)
    ends = [e for e in get(server, f"/api/runs/{run_id}/events")["events"] if e["kind"] == "status_change"]
    assert ends[-1]["data"]["new_status"] == want_status
    if want_reason is None:
        assert not ends[-1]["data"]["reason"]
    else:
        assert want_reason in ends[-1]["data"]["reason"]

    # every byte the terminal showed, the traceback included, and nothing else
    recorded = get(server, f"/api/runs/{run_id}/logs")
    assert recorded == terminal
    assert b"WARNING: the last words before the end" in recorded
    if want_shown is not None:
        assert want_shown.encode() in recorded
    if want_reason and "Error" in want_reason:
        assert (
            b"Traceback (most recent call last):" in recorded and b'in fail\n    raise ValueError("boom")' in recorded
        )

    loss = get(server, f"/api/runs/{run_id}/metrics?keys=loss")["metrics"]["loss"]
    assert loss["step"] == list(range(100))
    assert not list((tmp_path / "client" / "spool").glob("*/*.journal"))  # all uploaded: nothing left


def test_traceback_through_nested_calls_matches_the_terminal(server: ServerProcess, tmp_path: Path) -> None:
    """The ``with`` block sits inside functions: the recorded traceback still starts at ``<module>``."""
    script = tmp_path / "nested.py"
    script.write_text(
        "import sys\nfrom trainboard import TrainingMonitor\n\n"
        "def inner():\n    {}['missing']\n\n"
        "def main(url, data):\n"
        "    with TrainingMonitor('nested', dashboard_url=url, data_dir=data, system_metrics=False) as mon:\n"
        "        print('RUN', mon.run_id, flush=True)\n"
        "        try:\n            inner()\n        except KeyError as exc:\n"
        "            raise RuntimeError('wrapped') from exc\n\n"
        "if __name__ == '__main__':\n    result = main(sys.argv[1], sys.argv[2])\n"
    )
    done = subprocess.run(
        [sys.executable, str(script), server.url, str(tmp_path / "client")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        timeout=120,
    )
    assert done.returncode == 1
    run_id = done.stdout.split(b"RUN ", 1)[1].split(b"\n", 1)[0].decode()
    recorded = get(server, f"/api/runs/{run_id}/logs")
    assert recorded == done.stdout
    assert b"result = main(sys.argv[1], sys.argv[2])" in recorded and b"KeyError: 'missing'" in recorded
    assert get(server, f"/api/runs/{run_id}")["exit_code"] == 1
