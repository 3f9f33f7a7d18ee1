"""``trainboard demo`` as a newcomer meets it: something is live whenever they look, until Ctrl-C, and the
diverging run's config says why it diverges."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.support.servers import free_port

BASELINE, DIVERGING = "cifar-baseline", "cifar-lr-too-high"


def demo_runs(url: str) -> dict[str, list[dict[str, Any]]]:
    try:
        runs = httpx.get(f"{url}/api/runs", params={"project": "demo", "limit": 1000}, timeout=5).json()["runs"]
    except httpx.HTTPError:
        return {}
    by_name: dict[str, list[dict[str, Any]]] = {}
    for r in runs:
        by_name.setdefault(r["name"], []).append(r)  # newest first
    return by_name


def live_after_an_end(runs: list[dict[str, Any]]) -> bool:
    """A run of this name ended, and a newer one is training now."""
    ended = [r for r in runs if r["status"] != "running"]
    return bool(ended) and any(r["status"] == "running" and r["start_time"] >= ended[0]["end_time"] for r in runs)


def test_demo_stays_live_until_ctrl_c(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    args = ["demo", "--port", str(port), "--data", str(tmp_path / "data"), "--scale", "0.02"]
    printed = tmp_path / "demo.err"
    with printed.open("w") as sink:
        proc = subprocess.Popen([sys.executable, "-m", "trainboard.cli", *args], stdout=sink, stderr=sink, text=True)

    def looked_at() -> bool:
        """Both runs ended once and started again, as the server and as the demo's own output say."""
        both_live = all(live_after_an_end(runs.get(name, [])) for name in (BASELINE, DIVERGING))
        text = printed.read_text()
        return both_live and all(f"▶ {name} #2 live at" in text for name in (BASELINE, DIVERGING))

    try:
        deadline = time.monotonic() + 180
        runs = demo_runs(url)
        while not looked_at():
            assert proc.poll() is None, printed.read_text()
            assert time.monotonic() < deadline, (runs, printed.read_text())
            time.sleep(0.3)
            runs = demo_runs(url)
        failed = next(r for r in runs[DIVERGING] if r["status"] != "running")
        log = httpx.get(f"{url}/api/runs/{failed['id']}/logs").content.decode()
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(90)
    err = printed.read_text()
    assert proc.returncode == 0, err

    finished_baseline = next(r for r in runs[BASELINE] if r["status"] != "running")
    finished_diverging = next(r for r in runs[DIVERGING] if r["status"] != "running")
    assert finished_baseline["status"] == "completed"
    assert finished_diverging["status"] == "failed" and finished_diverging["exit_code"] == 1
    # the config explains the difference: a ten times larger learning rate
    base_lr = finished_baseline["config"]["optimizer"]["lr"]
    assert finished_diverging["config"]["optimizer"]["lr"] == pytest.approx(10 * base_lr)
    assert "learning rate 0.003 is too high (> 0.001)" in log and "FloatingPointError: training diverged" in log

    # what it printed: where to look, what each run is, each start and end, and that it stopped
    assert f"the dashboard is at {url}" in err
    assert f"{BASELINE}     lr 0.0003" in err and f"{DIVERGING}  lr 0.003, 10x higher" in err
    assert f"▶ {BASELINE} #2 live at {url}/runs/" in err
    assert f"✓ {BASELINE} #1 completed; starting it again" in err
    assert f"✗ {DIVERGING} #1 failed (exit 1): loss NaN at lr 0.003" in err
    assert err.rstrip().endswith(f"stopped; the runs stay in {tmp_path / 'data'}")
    assert "Traceback" not in err
