"""Crash recovery: SIGKILL a training script, heartbeat timeout, resume from the last checkpoint."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from tests.support.servers import ServerProcess

TRAIN = r"""
import json, sys, time
from pathlib import Path
from trainboard import TrainingMonitor

url, data, ckdir, total = sys.argv[1], sys.argv[2], Path(sys.argv[3]), int(sys.argv[4])
mon = TrainingMonitor.resume_or_create("resumable", checkpoint_dir=ckdir, dashboard_url=url, data_dir=data,
                                       system_metrics=False, capture_output=False, heartbeat_interval=0.2)
start = 0
if mon.is_resumed:
    last = mon.get_last_checkpoint()
    start = last["step"] + 1
print("start", start, mon.run_id, mon.is_resumed, flush=True)
for step in range(start, total):
    mon.log_metrics({"loss": 1000.0 / (step + 1)}, step=step)
    if step % 50 == 49:
        path = ckdir / f"step_{step}.pt"
        try:
            import torch
            torch.save({"step": step}, path)
        except ImportError:
            path.write_text(json.dumps({"step": step}))
        mon.save_checkpoint(path, step=step)
        mon.flush()
        print("checkpoint", step, flush=True)
    time.sleep(0.002)
mon.finish()
"""


def test_killed_run_turns_interrupted_and_resumes_continuously(
    make_server: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    server = make_server("--heartbeat-timeout", "1.5")
    script = tmp_path / "train.py"
    script.write_text(TRAIN)
    ckdir = tmp_path / "ck"
    ckdir.mkdir()
    args = [sys.executable, str(script), server.url, str(tmp_path / "client"), str(ckdir)]
    with subprocess.Popen([*args, "100000"], stdout=subprocess.PIPE, text=True) as proc:
        assert proc.stdout is not None
        first = proc.stdout.readline().split()
        assert first[:2] == ["start", "0"] and first[3] == "False"
        run_id = first[2]
        for line in proc.stdout:
            if line.startswith("checkpoint") and int(line.split()[1]) >= 299:
                break
        time.sleep(0.3)  # a few more steps past the checkpoint: they will be logged again
        proc.send_signal(signal.SIGKILL)
    deadline = time.monotonic() + 20
    status = None
    while time.monotonic() < deadline:
        status = httpx.get(f"{server.url}/api/runs/{run_id}").json()["status"]
        if status == "interrupted":
            break
        time.sleep(0.2)
    assert status == "interrupted"
    done = subprocess.run([*args, "600"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    start_line = done.stdout.splitlines()[0].split()
    assert start_line[2] == run_id and start_line[3] == "True"
    resumed_from = int(start_line[1])
    assert resumed_from >= 300 and resumed_from % 50 == 0
    run = httpx.get(f"{server.url}/api/runs/{run_id}").json()
    assert run["status"] == "completed"
    series = httpx.get(f"{server.url}/api/runs/{run_id}/metrics", params={"keys": "loss"}).json()["metrics"]["loss"]
    assert series["step"] == list(range(600))  # continuous, each step once
    assert series["value"] == [1000.0 / (s + 1) for s in range(600)]
    kinds = [e["kind"] for e in httpx.get(f"{server.url}/api/runs/{run_id}/events").json()["events"]]
    assert "resumed" in kinds
    reasons = [
        e["message"]
        for e in httpx.get(f"{server.url}/api/runs/{run_id}/events").json()["events"]
        if e["kind"] == "status_change"
    ]
    assert any("no heartbeat" in m for m in reasons)
    assert len(httpx.get(f"{server.url}/api/runs", params={"name": "resumable"}).json()["runs"]) == 1
