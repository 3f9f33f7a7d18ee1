"""Running framework scripts in a subprocess against a real server, and reading back what they logged."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import httpx

from tests.support.servers import ServerProcess

#: Printed by the test scripts: one JSON record of what the framework logged, per line.
RECORD = "RECORD "
#: Printed by a script when the test should kill it.
KILL_ME = "KILL_ME"


def script_env(server: ServerProcess, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = server.env()
    env["TRAINBOARD_DATA"] = str(tmp_path / "client")
    env |= {
        "KERAS_BACKEND": "torch",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "PYTHONUNBUFFERED": "1",
        "OMP_NUM_THREADS": "1",
    }
    for name in ("TRAINBOARD_RUN_ID", "TRAINBOARD_CAPTURED", "RANK", "LOCAL_RANK", "WORLD_SIZE"):
        env.pop(name, None)
    return env | extra


def run_script(
    server: ServerProcess, tmp_path: Path, code: str, *args: str, timeout: float = 300, **extra_env: str
) -> subprocess.CompletedProcess[str]:
    """Run ``code`` as a script (cwd ``tmp_path``) and fail the test with its output if it fails."""
    script = tmp_path / "train.py"
    script.write_text(code)
    proc = subprocess.run(
        [sys.executable, str(script), *args],
        cwd=tmp_path,
        env=script_env(server, tmp_path, **extra_env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    return proc


def run_until_kill(server: ServerProcess, tmp_path: Path, code: str, *args: str, timeout: float = 300) -> list[str]:
    """Run ``code`` until it prints ``KILL_ME``, SIGKILL it there, and return the lines it printed."""
    script = tmp_path / "train.py"
    script.write_text(code)
    proc = subprocess.Popen(
        [sys.executable, str(script), *args],
        cwd=tmp_path,
        env=script_env(server, tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if line.startswith(KILL_ME):
                proc.send_signal(signal.SIGKILL)
                break
        proc.wait(timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
    assert any(line.startswith(KILL_ME) for line in lines), "".join(lines)[-4000:]
    assert proc.returncode == -signal.SIGKILL
    return lines


def sync(server: ServerProcess, tmp_path: Path) -> None:
    """``trainboard sync``: upload what the killed process left in its journal."""
    proc = subprocess.run(
        [sys.executable, "-m", "trainboard.cli", "sync"],
        env=script_env(server, tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def records(lines: Iterable[str]) -> list[dict[str, Any]]:
    return [json.loads(line[len(RECORD) :]) for line in lines if line.startswith(RECORD)]


def only_run(http: httpx.Client) -> dict[str, Any]:
    runs = http.get("/api/runs").json()["runs"]
    assert len(runs) == 1, runs
    return dict(runs[0])


def metric_points(http: httpx.Client, run_id: str) -> dict[tuple[str, int], float]:
    """Every stored (key, step) -> value of the run, system series left out."""
    history = http.get(f"/api/runs/{run_id}/metrics").json()["metrics"]
    return {
        (key, step): value
        for key, series in history.items()
        if not key.startswith("sys/")
        for step, value in zip(series["step"], series["value"], strict=True)
    }


def expected_points(
    entries: Iterable[tuple[int, dict[str, Any]]], skip: Iterable[str] = ()
) -> dict[tuple[str, int], float]:
    """(key, step) -> value from a framework's own records, later records at a step winning (as on the server)."""
    skipped = set(skip)
    out: dict[tuple[str, int], float] = {}
    for step, values in entries:
        for key, value in values.items():
            if key not in skipped and isinstance(value, int | float) and not isinstance(value, bool):
                out[(key, step)] = float(value)
    return out


def assert_same_points(got: dict[tuple[str, int], float], want: dict[tuple[str, int], float]) -> None:
    assert want, "the framework logged nothing"
    assert set(got) == set(want), (sorted(set(want) - set(got)), sorted(set(got) - set(want)))
    for point, value in want.items():
        assert got[point] == _approx(value), point


def _approx(value: float) -> Any:
    import pytest

    return pytest.approx(value, rel=1e-6, abs=1e-9)


def checkpoints(http: httpx.Client, run_id: str) -> list[dict[str, Any]]:
    listing = http.get(f"/api/runs/{run_id}/checkpoints", params={"sort": "step", "order": "asc"}).json()
    return list(listing["checkpoints"])
