"""``trainboard run -- srun -n 4 ...`` on the one-node SLURM cluster the launch tests start (real slurmctld, slurmd
and munge): one run, a byte-exact stream per task, and each task's printed metric reports as its own rank's series."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.support.engines import SlurmCluster, slurm_cluster
from tests.support.servers import ServerProcess

SCRIPT = r"""
import os, sys
rank = int(os.environ["SLURM_PROCID"])
for step in range(5):
    sys.stdout.write(f"step={step} loss={rank + step / 10:.2f}\n"); sys.stdout.flush()
sys.stdout.buffer.write(b"\xfe\xff task %d \x1b[1mbold\x1b[0m\n" % rank); sys.stdout.flush()
"""


def expected(rank: int) -> bytes:
    text = "".join(f"step={step} loss={rank + step / 10:.2f}\n" for step in range(5)).encode()
    return (text + b"\xfe\xff task %d \x1b[1mbold\x1b[0m\n" % rank).replace(b"\n", b"\r\n")


@pytest.fixture(scope="module")
def cluster() -> Iterator[SlurmCluster]:
    with slurm_cluster() as c:
        yield c


def test_srun_four_tasks(cluster: SlurmCluster, server: ServerProcess, tmp_path: Path) -> None:
    path = tmp_path / "task.py"
    path.write_text(SCRIPT)
    env = server.env() | cluster.env() | {"TRAINBOARD_DATA": str(tmp_path / "client")}
    cmd = [
        sys.executable, "-m", "trainboard.cli", "run", "--name", "srun4", "--system-interval", "0", "--",
        "srun", "-n", "4", "-O", "--kill-on-bad-exit=1", sys.executable, str(path),
    ]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, env=env, cwd=tmp_path, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    runs = httpx.get(f"{server.url}/api/runs").json()["runs"]
    assert [r["name"] for r in runs] == ["srun4"] and runs[0]["status"] == "completed"
    rid = runs[0]["id"]
    for rank in range(4):
        assert httpx.get(f"{server.url}/api/runs/{rid}/logs", params={"rank": rank}).content == expected(rank)
        hist = httpx.get(f"{server.url}/api/runs/{rid}/metrics", params={"rank": rank, "keys": "loss"}).json()
        assert hist["metrics"]["loss"]["value"] == [rank + step / 10 for step in range(5)]
    assert done.stdout.count(b"task 3 ") == 1  # shown once on the terminal
    ranks = httpx.get(f"{server.url}/api/runs/{rid}/ranks").json()["ranks"]
    assert [(r["rank"], r["launcher"], r["local_rank"], r["world_size"]) for r in ranks] == [
        (i, "slurm", i, 4) for i in range(4)
    ]
