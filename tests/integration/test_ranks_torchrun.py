"""``trainboard run -- torchrun ...`` as a distributed user runs it: real torchrun from the installed torch, 4 ranks
as 2 "nodes" (two torchrun processes, c10d rendezvous on 127.0.0.1), a real server: one run, a byte-exact stream per
rank, the launcher's own output kept apart, per-rank metrics, and the first failing rank named."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

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


STORE = r"""
import sys, time
import torch.distributed as dist
store = dist.TCPStore("127.0.0.1", int(sys.argv[1]), is_master=True, wait_for_workers=False)
print("ready", flush=True)
time.sleep(600)
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
    # the rendezvous store lives apart from both "nodes" (as on a cluster's head node): hosted by one agent, the other
    # agent's shutdown fails when the host exits first (RendezvousConnectionError, exit 1) — a race, not the point
    store = subprocess.Popen([sys.executable, "-c", STORE, str(port)], stdout=subprocess.PIPE)
    assert store.stdout is not None and store.stdout.readline() == b"ready\n"
    procs = []
    for node in range(2):
        env = server.env() | {"TRAINBOARD_DATA": str(tmp_path / f"client{node}")}
        env.pop("OMP_NUM_THREADS", None)  # torchrun then prints its warning: launcher output to keep
        cmd = [
            sys.executable, "-m", "trainboard.cli", "run", "--name", name, "--system-interval", "0", *extra, "--",
            TORCHRUN, "--nnodes", "2", "--nproc-per-node", "2", "--rdzv-backend", "c10d",
            "--rdzv-endpoint", f"127.0.0.1:{port}", "--rdzv-conf", "is_host=false", "--rdzv-id", job,
            "--max-restarts", "0", str(path),
        ]  # fmt: skip
        procs.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=tmp_path))
    done = []
    try:
        for proc in procs:
            out, err = proc.communicate(timeout=120)
            done.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    finally:
        store.kill()
        store.communicate()
    return done


def only_run(server: ServerProcess) -> dict[str, Any]:
    runs: list[dict[str, Any]] = httpx.get(f"{server.url}/api/runs").json()["runs"]
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
    # what the run shows as its reason: the server's diagnosis, made from rank 2's own output (the other ranks'
    # rendezvous errors and torchrun's report are consequences)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        events = httpx.get(f"{server.url}/api/runs/{rid}/events").json()["events"]
        if any(e["kind"] == "diagnosis" for e in events):
            break
        time.sleep(0.2)
    shown = httpx.get(f"{server.url}/api/runs/{rid}").json()["status_reason"]
    assert shown.startswith("rank 2 (node ") and "failed first" in shown and "ValueError" in shown, shown
    ranks = {r["rank"]: r for r in httpx.get(f"{server.url}/api/runs/{rid}/ranks").json()["ranks"]}
    # 1, or 134 when gloo's threads abort the interpreter's shutdown after the traceback ("terminate called ...")
    assert ranks[2]["exit_code"] in (1, 134) and ranks[2]["error"].startswith("ValueError: boom at step 10")
    # torchrun's failure report (exitcode, local_rank, pid, error_file, the script's name) is prose, not metrics
    keys = set(httpx.get(f"{server.url}/api/runs/{rid}/metrics").json()["metrics"])
    assert not keys & {"exitcode", "local_rank", "pid", "error_file", "rank", "host", "time", "train.py"}, keys
    # the ranks' own `loss=` reports are theirs: rank 1's series is rank 1's
    assert keys <= {"loss"}, keys


STRAGGLER = r"""
import os, time
import trainboard
rank = int(os.environ["RANK"])
with trainboard.TrainingMonitor(system_metrics=False) as mon:
    for step in range(10):
        time.sleep(0.15 + (0.25 if rank == 1 else 0.0))
        mon.log_metrics({"loss": 1.0 / (step + 1)}, step=step)
"""


def one_node(
    server: ServerProcess, tmp_path: Path, script: str, *torchrun_args: str
) -> subprocess.CompletedProcess[bytes]:
    path = tmp_path / "train.py"
    path.write_text(script)
    env = server.env() | {"TRAINBOARD_DATA": str(tmp_path / "client")}
    cmd = [TORCHRUN, "--nproc-per-node", "4", *torchrun_args, str(path)]
    return subprocess.run(cmd, capture_output=True, env=env, cwd=tmp_path, timeout=120, check=False)


def test_a_slow_rank_is_flagged_as_a_straggler(server: ServerProcess, tmp_path: Path) -> None:
    done = one_node(server, tmp_path, STRAGGLER)  # the SDK alone, no wrapper: rank 0 makes the run
    assert done.returncode == 0, done.stderr[-3000:]
    rid = only_run(server)["id"]

    def flagged() -> bool:
        ranks = httpx.get(f"{server.url}/api/runs/{rid}/ranks").json()["ranks"]
        return [r["rank"] for r in ranks if r["straggler"]] == [1]

    wait_for(flagged)
    ranks = httpx.get(f"{server.url}/api/runs/{rid}/ranks").json()["ranks"]
    assert ranks[1]["slower_by_percent"] > 50, ranks


SDK_ONLY = r"""
import os, pathlib, sys, time
import trainboard
rank = int(os.environ["RANK"])
done = pathlib.Path(__file__).resolve().parent
with trainboard.TrainingMonitor(system_metrics=False) as mon:
    for step in range(3):
        mon.log_metrics({"acc": rank + step / 10}, step=step)
        print(f"rank {rank} says {step}", flush=True)
    if rank == 3:  # the others have said all first (torchrun stops whoever still runs when this one fails)
        deadline = time.time() + 90
        while time.time() < deadline and not all((done / f"done-{r}").exists() for r in (0, 1, 2)):
            time.sleep(0.05)
        raise RuntimeError("rank three gives up")
    if rank == 0:
        mon.flush()
        (done / "done-0").touch()
        time.sleep(60)  # still running when rank 3 fails: torchrun stops it then
(done / f"done-{rank}").touch()  # ranks 1 and 2: finished, everything uploaded
"""
#: The line of SDK_ONLY that raises (the rank's error names it).
RAISE_LINE = SDK_ONLY.splitlines().index('        raise RuntimeError("rank three gives up")') + 1


def test_sdk_alone_under_torchrun_one_run_rank_zero_ends_it(server: ServerProcess, tmp_path: Path) -> None:
    done = one_node(server, tmp_path, SDK_ONLY, "--rdzv-id", "sdk-only-job", "--rdzv-backend", "c10d",
                    "--rdzv-endpoint", "127.0.0.1:0")  # fmt: skip
    assert done.returncode != 0
    run = only_run(server)  # every rank found the same run from the rendezvous id
    rid = run["id"]
    assert rid.startswith("torchrun-")
    for rank in range(4):  # each rank's in-process capture is that rank's stream
        text = httpx.get(f"{server.url}/api/runs/{rid}/logs", params={"rank": rank}).content
        assert b"rank %d says 2\n" % rank in text and b"rank %d says" % ((rank + 1) % 4) not in text
        hist = httpx.get(f"{server.url}/api/runs/{rid}/metrics", params={"rank": rank, "keys": "acc"}).json()
        assert hist["metrics"]["acc"]["value"] == [rank + s / 10 for s in range(3)]
    ranks = {r["rank"]: r for r in httpx.get(f"{server.url}/api/runs/{rid}/ranks").json()["ranks"]}
    assert ranks[3]["exit_code"] == 1 and ranks[3]["error"].startswith("RuntimeError: rank three gives up")
    assert (
        ranks[0]["exit_code"] == 143 and ranks[0]["error"] == "terminated by SIGTERM"
    )  # stopped by torchrun's SIGTERM
    wait_for(lambda: httpx.get(f"{server.url}/api/runs/{rid}").json()["status"] != "running")
    # rank 0 owns the lifecycle: stopped, it ends the run failed, naming rank 3; nobody else set the run's status
    events = httpx.get(f"{server.url}/api/runs/{rid}/events").json()["events"]
    changes = [e["data"] for e in events if e["kind"] == "status_change"]
    assert len(changes) == 1 and changes[0]["new_status"] == "failed", changes
    assert changes[0]["reason"].startswith("rank 3 (node "), changes
    assert changes[0]["reason"].endswith(
        f"failed first: RuntimeError: rank three gives up (train.py:{RAISE_LINE} in <module>)"
    )
