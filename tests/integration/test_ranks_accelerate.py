"""``trainboard run -- accelerate launch --multi_gpu --num_processes 2 ...`` (Hugging Face Accelerate's own launcher,
on CPU: it starts the ranks through torch.distributed.elastic): one run, a byte-exact stream per rank, the ranks named
``accelerate`` and, with the SDK in the script, each rank's metrics as its own."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from tests.support.servers import ServerProcess

pytest.importorskip("accelerate")

SCRIPT = r"""
import os
import trainboard
from accelerate import Accelerator
acc = Accelerator(cpu=True)
rank = acc.process_index
with trainboard.TrainingMonitor(system_metrics=False) as mon:
    for step in range(4):
        mon.log_metrics({"loss": rank * 100 + step}, step=step)
        print(f"accelerate rank {rank}/{acc.num_processes} step {step}", flush=True)
"""


def test_accelerate_launch_two_processes(server: ServerProcess, tmp_path: Path) -> None:
    path = tmp_path / "train.py"
    path.write_text(SCRIPT)
    env = server.env() | {"TRAINBOARD_DATA": str(tmp_path / "client"), "ACCELERATE_CONFIG_FILE": "/nonexistent"}
    cmd = [
        sys.executable, "-m", "trainboard.cli", "run", "--name", "acc", "--system-interval", "0", "--",
        str(Path(sys.executable).parent / "accelerate"), "launch", "--multi_gpu", "--num_processes", "2",
        "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no", str(path),
    ]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, env=env, cwd=tmp_path, timeout=180, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    runs = httpx.get(f"{server.url}/api/runs").json()["runs"]
    assert [r["name"] for r in runs] == ["acc"] and runs[0]["status"] == "completed"
    rid = runs[0]["id"]
    for rank in range(2):
        text = httpx.get(f"{server.url}/api/runs/{rid}/logs", params={"rank": rank}).content
        assert text == b"".join(b"accelerate rank %d/2 step %d\r\n" % (rank, s) for s in range(4))
        hist = httpx.get(f"{server.url}/api/runs/{rid}/metrics", params={"rank": rank, "keys": "loss"}).json()
        assert hist["metrics"]["loss"]["value"] == [rank * 100 + s for s in range(4)]
    ranks = httpx.get(f"{server.url}/api/runs/{rid}/ranks").json()["ranks"]
    assert [(r["rank"], r["launcher"], r["exit_code"]) for r in ranks] == [(0, "accelerate", 0), (1, "accelerate", 0)]
