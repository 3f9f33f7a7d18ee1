"""Helpers of the launch tests: a server with ``--allow-launch`` and a launch root, waiting on runs and jobs."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import psutil

from tests.support.servers import ServerProcess

TRAIN = r"""
import sys, time
from tqdm import tqdm
from trainboard import TrainingMonitor

steps = int(sys.argv[1])
with TrainingMonitor(run_name="launched", flush_timeout=5) as monitor:
    for step in tqdm(range(steps), mininterval=0):
        monitor.log_metrics({"loss": 1.0 / (step + 1)}, step=step)
        print(f"step {step}", flush=True)
        time.sleep(0.1)
sys.exit(int(sys.argv[2]) if len(sys.argv) > 2 else 0)
"""


def launch_server(root: Path, data: Path, *extra: str) -> ServerProcess:
    """A server that launches local jobs inside ``root`` (auth off on loopback)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "train.py").write_text(TRAIN)
    server = ServerProcess(
        data_dir=data, db_url=None, extra_args=["--allow-launch", "--launch-root", str(root), *extra]
    )
    return server.start()


def wait_for(what: str, check: Callable[[], Any], timeout: float = 60.0, interval: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def run_of(http: httpx.Client, run_id: str) -> dict[str, Any]:
    resp = http.get(f"/api/runs/{run_id}")
    resp.raise_for_status()
    data: dict[str, Any] = resp.json()
    return data


def ended(http: httpx.Client, run_id: str, timeout: float = 60.0) -> dict[str, Any]:
    """The run once its status is final."""
    done: dict[str, Any] = wait_for(
        f"run {run_id} to end",
        lambda: (r := run_of(http, run_id))["status"] in ("completed", "failed", "interrupted") and r,
        timeout,
    )
    return done


def events(http: httpx.Client, run_id: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = http.get(f"/api/runs/{run_id}/events").json()["events"]
    return found


def job_pids(data: Path, run_id: str) -> list[int]:
    """The local job's process and its descendants still alive (from the provider's job record)."""
    record = json.loads((data / "launch" / "local" / f"{run_id}.json").read_text())
    try:
        root = psutil.Process(int(record["pid"]))
        if abs(root.create_time() - float(record["start_time"])) > 0.01:
            return []
        return [root.pid, *(p.pid for p in root.children(recursive=True))]
    except psutil.NoSuchProcess:
        return []


def kill_tree(pids: list[int]) -> None:
    for pid in pids:
        try:
            psutil.Process(pid).kill()
        except psutil.NoSuchProcess:
            pass
