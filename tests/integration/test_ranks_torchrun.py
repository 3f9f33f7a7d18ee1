"""``trainboard run -- torchrun ...`` as a distributed user runs it: real torchrun from the installed torch, 4 ranks
as 2 "nodes" (two torchrun processes, c10d rendezvous on 127.0.0.1), a real server: one run, a byte-exact stream per
rank, the launcher's own output kept apart, per-rank metrics, and the first failing rank named."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx
from tests.support.servers import ServerProcess, free_port

TORCHRUN = str(Path(sys.executable).parent / "torchrun")

#: Each rank writes its own bytes: a partial line finished later (another rank writes meanwhile), bytes that are not
#: UTF-8, colours; no torch import (the ranks start in a second even on a loaded machine).
NO_SDK = r"""
import os, sys, time
rank = int(os.environ["RANK"])
out = sys.stdout.buffer
for i in range(20):
    out.write(b"rank %d line %d " % (rank, i)); out.flush()
    time.sleep(0.005 * ((rank + i) % 3))
    out.write(b"\x1b[3%dmend\x1b[0m \xff%d\n" % (rank + 1, rank)); out.flush()
print(f"rank {rank} done", file=sys.stderr, flush=True)
"""


def expected(rank: int) -> bytes:
    """What rank ``rank`` of NO_SDK writes, as its terminal receives it (a pseudo-terminal turns \\n into \\r\\n)."""
    parts = [b"rank %d line %d \x1b[3%dmend\x1b[0m \xff%d\n" % (rank, i, rank + 1, rank) for i in range(20)]
    parts.append(b"rank %d done\n" % rank)
    return b"".join(parts).replace(b"\n", b"\r\n")


def launch_two_nodes(
    server: ServerProcess, tmp_path: Path, script: str, *, job: str, name: str = "ddp", extra: tuple[str, ...] = ()
) -> list[subprocess.CompletedProcess[bytes]]:
    path = tmp_path / "train.py"
    path.write_text(script)
    port = free_port()
    procs = []
    for node in range(2):
        env = server.env() | {"TRAINBOARD_DATA": str(tmp_path / f"client{node}")}
        env.pop("OMP_NUM_THREADS", None)  # torchrun then prints its warning: launcher output to keep
        cmd = [
            sys.executable, "-m", "trainboard.cli", "run", "--name", name, "--system-interval", "0", *extra, "--",
            TORCHRUN, "--nnodes", "2", "--nproc-per-node", "2", "--rdzv-backend", "c10d",
            "--rdzv-endpoint", f"127.0.0.1:{port}", "--rdzv-id", job, "--max-restarts", "0", str(path),
        ]  # fmt: skip
        procs.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=tmp_path))
    done = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        done.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    return done


def only_run(server: ServerProcess) -> dict[str, object]:
    runs: list[dict[str, object]] = httpx.get(f"{server.url}/api/runs").json()["runs"]
    assert len(runs) == 1, [r["name"] for r in runs]
    return runs[0]


def wait_for(check: object, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def test_four_ranks_on_two_nodes_without_sdk(server: ServerProcess, tmp_path: Path) -> None:
    done = launch_two_nodes(server, tmp_path, NO_SDK, job="job-a")
    assert [d.returncode for d in done] == [0, 0], [d.stderr[-2000:] for d in done]
    run = only_run(server)
    assert run["status"] == "completed" and run["name"] == "ddp"
    rid = run["id"]
    for rank in range(4):
        got = httpx.get(f"{server.url}/api/runs/{rid}/logs", params={"rank": rank}).content
        assert got == expected(rank), rank
    # the ranks' output reached this terminal (each node's wrapper mirrors its ranks), not twice
    mirrored = done[0].stdout + done[1].stdout
    for rank in range(4):
        assert mirrored.count(b"rank %d line 7 " % rank) == 1
    # the merged view: whole lines of every stream, each with its rank; the launcher's own output (torchrun's
    # OMP_NUM_THREADS warning) is there as unranked lines; no line holds bytes of two streams
    lines = httpx.get(f"{server.url}/api/runs/{rid}/logs/lines", params={"limit": 1000}).json()["lines"]
    launcher = [ln["message"] for ln in lines if ln.get("rank") is None]
    assert any("OMP_NUM_THREADS" in text for text in launcher), launcher
    assert not any("line" in text and "rank" in text for text in launcher)
    for ln in lines:
        if ln.get("rank") is not None:
            assert ln["message"].count("rank ") == 1 and ln["message"].startswith(f"rank {ln['rank']} "), ln
    assert sum(1 for ln in lines if ln.get("rank") is not None) == 4 * 21
    ranks = httpx.get(f"{server.url}/api/runs/{rid}/ranks").json()
    assert [r["rank"] for r in ranks["ranks"]] == [0, 1, 2, 3]
    assert {r["launcher"] for r in ranks["ranks"]} == {"torchrun"}
    assert sorted(r["node_rank"] for r in ranks["ranks"]) == [0, 0, 1, 1]
    assert all(r["exit_code"] == 0 and r["world_size"] == 4 for r in ranks["ranks"])
    assert ranks["first_failure"] is None


WITH_SDK = r"""
import os, time
import trainboard
rank = int(os.environ["RANK"])
with trainboard.TrainingMonitor(system_metrics=False) as mon:
    for step in range(6):
        mon.log_metrics({"loss": 10.0 * rank + step}, step=step)
        print(f"rank {rank} step {step}", flush=True)
"""


def test_sdk_in_each_rank_logs_per_rank_metrics(server: ServerProcess, tmp_path: Path) -> None:
    done = launch_two_nodes(server, tmp_path, WITH_SDK, job="job-b", name="ddp-sdk")
    assert [d.returncode for d in done] == [0, 0], [d.stderr[-2000:] for d in done]
    run = only_run(server)
    rid = run["id"]
    assert run["status"] == "completed"
    for rank in range(4):
        hist = httpx.get(f"{server.url}/api/runs/{rid}/metrics", params={"rank": rank, "keys": "loss"}).json()
        series = hist["metrics"]["loss"]
        assert series["value"] == [10.0 * rank + s for s in range(6)], rank
        text = httpx.get(f"{server.url}/api/runs/{rid}/logs", params={"rank": rank}).content
        assert b"rank %d step 5\r\n" % rank in text and b"rank %d" % ((rank + 1) % 4) not in text


RAISES = r"""
import os, sys, time
import torch
import torch.distributed as dist
dist.init_process_group("gloo", timeout=__import__("datetime").timedelta(seconds=60))
rank = dist.get_rank()
t = torch.zeros(1)
for step in range(20):
    if rank == 2 and step == 10:
        raise ValueError(f"boom at step {step}")
    dist.all_reduce(t)
    print(f"rank {rank} step {step} loss={1.0 / (step + 1):.4f}", flush=True)
"""


def test_first_failing_rank_is_the_reason(server: ServerProcess, tmp_path: Path) -> None:
    done = launch_two_nodes(server, tmp_path, RAISES, job="job-c", name="ddp-fail")
    assert all(d.returncode != 0 for d in done)
    run = only_run(server)
    rid = run["id"]
    assert run["status"] == "failed"
    events = httpx.get(f"{server.url}/api/runs/{rid}/events").json()["events"]
    reason = next(e["data"]["reason"] for e in events if e["kind"] == "status_change")
    assert reason.startswith("rank 2 (node "), reason
    assert "failed first: ValueError: boom at step 10 (train.py:" in reason, reason
    ranks = {r["rank"]: r for r in httpx.get(f"{server.url}/api/runs/{rid}/ranks").json()["ranks"]}
    assert ranks[2]["exit_code"] == 1 and ranks[2]["error"].startswith("ValueError: boom at step 10")
    # torchrun's failure report (exitcode, local_rank, pid, error_file, the script's name) is prose, not metrics
    keys = set(httpx.get(f"{server.url}/api/runs/{rid}/metrics").json()["metrics"])
    assert not keys & {"exitcode", "local_rank", "pid", "error_file", "rank", "host", "time", "train.py"}, keys
    # the ranks' own `loss=` reports are theirs: rank 1's series is rank 1's
    assert keys <= {"loss"}, keys
