"""The SDK against a real ``trainboard serve`` process, on SQLite and PostgreSQL."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from tests.support.servers import ServerProcess

from trainboard import TrainingMonitor


def monitor(server: ServerProcess, **kw: object) -> TrainingMonitor:
    kw.setdefault("system_metrics", False)
    kw.setdefault("capture_output", False)
    return TrainingMonitor(dashboard_url=server.url, data_dir=server.data_dir / "client", **kw)  # type: ignore[arg-type]


def history(server: ServerProcess, run_id: str, key: str) -> dict[str, list[object]]:
    data = httpx.get(f"{server.url}/api/runs/{run_id}/metrics", params={"keys": key}, timeout=60).json()
    series: dict[str, list[object]] = data["metrics"][key]
    return series


def test_50000_points_arrive_exactly(server: ServerProcess) -> None:
    with monitor(server, run_name="fifty-k", config={"lr": 0.01}) as mon:
        for step in range(5_000):
            mon.log_metrics({f"m{j}": step * 10 + j for j in range(10)}, step=step)
    run = httpx.get(f"{server.url}/api/runs/{mon.run_id}").json()
    assert run["status"] == "completed" and run["config"] == {"lr": 0.01}
    for j in (0, 9):
        series = history(server, mon.run_id, f"m{j}")
        assert series["step"] == list(range(5_000))
        assert series["value"] == [float(s * 10 + j) for s in range(5_000)]
    assert not any((server.data_dir / "client" / "spool").glob("*/*.journal"))  # acked: spool cleaned


def test_non_finite_values_round_trip_from_the_sdk(server: ServerProcess) -> None:
    with monitor(server) as mon:
        mon.log_metrics({"loss": math.nan}, step=0)
        mon.log_metrics({"loss": math.inf}, step=1)
        mon.log_metrics({"loss": -math.inf}, step=2)
        mon.log_metrics({"loss": 0.25}, step=3)
    assert history(server, mon.run_id, "loss")["value"] == ["NaN", "Infinity", "-Infinity", 0.25]


def test_context_manager_statuses(server: ServerProcess) -> None:
    try:
        with monitor(server) as failed:
            raise ValueError("boom")
    except ValueError:
        pass
    try:
        with monitor(server) as interrupted:
            raise KeyboardInterrupt
    except KeyboardInterrupt:
        pass
    statuses = {r["id"]: r["status"] for r in httpx.get(f"{server.url}/api/runs").json()["runs"]}
    assert statuses[failed.run_id] == "failed" and statuses[interrupted.run_id] == "interrupted"


TRAIN = """
import sys, time
from trainboard import TrainingMonitor
mon = TrainingMonitor(run_name="killed-server", dashboard_url=sys.argv[1], data_dir=sys.argv[2],
                      system_metrics=False, capture_output=False, flush_timeout=float(sys.argv[4]))
print(mon.run_id, flush=True)
for step in range(int(sys.argv[3])):
    mon.log_metrics({"loss": 1.0 / (step + 1), "step_sq": float(step * step)}, step=step)
    time.sleep(0.0005)
mon.finish()
"""


def test_server_sigkilled_mid_run_loses_nothing(make_server: Callable[..., ServerProcess], tmp_path: Path) -> None:
    server = make_server()
    script = tmp_path / "train.py"
    script.write_text(TRAIN)
    steps = 8_000
    proc = subprocess.Popen(
        [sys.executable, str(script), server.url, str(tmp_path / "client"), str(steps), "60"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    run_id = proc.stdout.readline().strip()
    time.sleep(1.0)  # a part is committed
    server.kill()  # SIGKILL: no shutdown, no flush
    time.sleep(1.5)  # the SDK keeps training and spooling meanwhile
    server.start()
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert "cannot reach" in err and err.count("cannot reach") == 1  # warned once
    series = history(server, run_id, "step_sq")
    assert series["step"] == list(range(steps))  # every point exactly once
    assert series["value"] == [float(s * s) for s in range(steps)]


def test_offline_run_is_uploaded_by_sync(make_server: Callable[..., ServerProcess], tmp_path: Path) -> None:
    server = make_server(start=False)  # nothing listens yet
    client_dir = tmp_path / "client"
    script = tmp_path / "train.py"
    script.write_text(TRAIN)
    env = dict(os.environ)
    done = subprocess.run(
        [sys.executable, str(script), server.url, str(client_dir), "3000", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    run_id = done.stdout.strip()
    assert done.returncode == 0
    assert "trainboard sync" in done.stderr  # told the user what to do
    assert list((client_dir / "spool").glob("*/*.journal"))
    server.start()
    synced = subprocess.run(
        [sys.executable, "-m", "trainboard.cli", "sync", "--data", str(client_dir), "--url", server.url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert synced.returncode == 0, synced.stderr
    assert "synced 1 journal" in synced.stdout
    series = history(server, run_id, "loss")
    assert series["step"] == list(range(3000))
    run = httpx.get(f"{server.url}/api/runs/{run_id}").json()
    assert run["status"] == "completed" and run["name"] == "killed-server"
    again = subprocess.run(
        [sys.executable, "-m", "trainboard.cli", "sync", "--data", str(client_dir), "--url", server.url],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "nothing to sync" in again.stdout
