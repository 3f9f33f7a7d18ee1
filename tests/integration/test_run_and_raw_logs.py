"""``trainboard run`` through a real server: stored bytes, exit codes, SSE history/live/resume."""

from __future__ import annotations

import base64
import concurrent.futures
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from tests.support.servers import ServerProcess
from tests.support.sse import collect

SCRIPT = r"""
import sys, time
from tqdm import tqdm
print("\x1b[1;32mepoch 1\x1b[0m starting", flush=True)
for _ in tqdm(range(300), mininterval=0, ascii=False):
    time.sleep(0.001)
print("\x1b[33mWARNING\x1b[0m: loss is noisy", file=sys.stderr, flush=True)
sys.stdout.buffer.write(b"bytes \xff\xfe not utf-8 \x00 nul\n")
sys.stdout.flush()
raise RuntimeError("diverged")
"""


def trainboard_run(
    server: ServerProcess, tmp_path: Path, script: str, *args: str
) -> subprocess.CompletedProcess[bytes]:
    path = tmp_path / "train.py"
    path.write_text(script)
    env = server.env() | {"TRAINBOARD_DATA": str(tmp_path / "client")}
    cmd = [sys.executable, "-m", "trainboard.cli", "run", *args, "--", sys.executable, str(path)]
    return subprocess.run(cmd, capture_output=True, env=env, timeout=120, check=False)


def latest_run(server: ServerProcess) -> dict[str, object]:
    runs: list[dict[str, object]] = httpx.get(f"{server.url}/api/runs").json()["runs"]
    return runs[0]


def test_run_stores_exactly_what_the_pty_produced(server: ServerProcess, tmp_path: Path) -> None:
    done = trainboard_run(server, tmp_path, SCRIPT, "--name", "diverging")
    assert done.returncode == 1
    run = latest_run(server)
    assert run["status"] == "failed" and run["exit_code"] == 1 and run["name"] == "diverging"
    rid = run["id"]
    out = httpx.get(f"{server.url}/api/runs/{rid}/logs", params={"source": "stdout"}).content
    err = httpx.get(f"{server.url}/api/runs/{rid}/logs", params={"source": "stderr"}).content
    assert out == done.stdout  # mirrored byte for byte, and stored byte for byte
    assert err == done.stderr
    assert b"\r" in err and b"300/300" in err  # tqdm redrew in place on a terminal
    assert b"\x1b[1;32mepoch 1" in out  # colours kept
    assert b"\xff\xfe not utf-8 \x00 nul" in out
    assert b"RuntimeError: diverged" in err
    whole = httpx.get(f"{server.url}/api/runs/{rid}/logs")
    assert int(whole.headers["X-Log-Size"]) == len(out) + len(err) == len(whole.content)


def test_exit_codes_and_statuses(server: ServerProcess, tmp_path: Path) -> None:
    assert trainboard_run(server, tmp_path, "print('ok')").returncode == 0
    assert latest_run(server)["status"] == "completed"
    assert trainboard_run(server, tmp_path, "import sys; sys.exit(3)").returncode == 3
    run = latest_run(server)
    assert run["status"] == "failed" and run["exit_code"] == 3


def test_ctrl_c_marks_interrupted(server: ServerProcess, tmp_path: Path) -> None:
    path = tmp_path / "wait.py"
    path.write_text("import time\nprint('ready', flush=True)\ntime.sleep(60)\n")
    env = server.env() | {"TRAINBOARD_DATA": str(tmp_path / "client")}
    with subprocess.Popen(
        [sys.executable, "-m", "trainboard.cli", "run", "--", sys.executable, str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    ) as proc:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == b"ready"
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) == 128 + signal.SIGINT
    run = latest_run(server)
    assert run["status"] == "interrupted" and run["exit_code"] == 130


def test_sdk_inside_trainboard_run_lands_on_the_same_run(server: ServerProcess, tmp_path: Path) -> None:
    script = (
        "from trainboard import TrainingMonitor\n"
        "with TrainingMonitor(system_metrics=False, config={'lr': 0.5}) as m:\n"
        "    m.log_metrics({'loss': 0.5}, step=1)\n"
        "    print('run id', m.run_id)\n"
    )
    done = trainboard_run(server, tmp_path, script)
    assert done.returncode == 0, done.stderr
    runs = httpx.get(f"{server.url}/api/runs").json()["runs"]
    assert len(runs) == 1
    rid = runs[0]["id"]
    assert f"run id {rid}".encode() in done.stdout
    assert httpx.get(f"{server.url}/api/runs/{rid}/metrics").json()["metrics"]["loss"]["value"] == [0.5]
    run = httpx.get(f"{server.url}/api/runs/{rid}").json()
    assert run["config"]["lr"] == 0.5 and run["config"]["command"][-1].endswith("train.py")  # both configs
    assert run["status"] == "completed" and run["exit_code"] == 0


def test_raw_bytes_round_trip_and_bad_input(http: httpx.Client) -> None:
    c = http
    c.post("/api/runs", json={"id": "raw"})
    garbage = bytes(range(256)) * 50 + b"\xc3\x28\xa0\xa1\xe2\x28\xa1\x00\x1b[3"
    split_escape = [b"\x1b", b"[31mred", b"\x1b[0", b"m"]
    chunks = [{"source": "stdout", "data": base64.b64encode(d).decode()} for d in [garbage, *split_escape]]
    assert c.post("/api/runs/raw/logs/raw", json={"chunks": chunks}).json()["size"] == len(garbage) + 12
    assert c.get("/api/runs/raw/logs").content == garbage + b"".join(split_escape)
    assert c.get("/api/runs/raw/logs", params={"offset": 5, "limit": 7}).content == garbage[5:12]
    assert c.get("/api/runs/raw/logs", params={"tail": 4}).content == b"\x1b[0m"
    assert c.get("/api/runs/nope/logs").status_code == 404
    assert c.get("/api/runs/nope/logs/stream").status_code == 404
    for bad in ("-1", "1.5", "x"):
        resp = c.get("/api/runs/raw/logs", params={"offset": bad})
        assert resp.status_code == 422 and resp.json()["detail"][0]["loc"] == ["query", "offset"]
        assert c.get("/api/runs/raw/logs/stream", params={"offset": bad}).status_code == 422
    bad_b64 = c.post("/api/runs/raw/logs/raw", json={"chunks": [{"source": "stdout", "data": "!!"}]})
    assert bad_b64.status_code == 422 and bad_b64.json()["detail"][0]["loc"] == ["body", "chunks", 0, "data"]


def test_a_20mb_line_without_newline(http: httpx.Client) -> None:
    c = http
    c.post("/api/runs", json={"id": "wide"})
    line = (b"x" * 1023 + b"\r") * (20 * 1024)
    for start in range(0, len(line), 4 << 20):
        part = line[start : start + (4 << 20)]
        c.post(
            "/api/runs/wide/logs/raw", json={"chunks": [{"source": "stdout", "data": base64.b64encode(part).decode()}]}
        )
    got = c.get("/api/runs/wide/logs", params={"limit": 16 << 20}).content
    got += c.get("/api/runs/wide/logs", params={"offset": len(got)}).content
    assert got == line


SLOW = r"""
import sys, time
for i in range(40):
    print(f"line {i:03d} " + "=" * 60, flush=True)
    time.sleep(0.05)
"""


def test_sse_resume_with_last_event_id_gets_the_rest_exactly_once(server: ServerProcess, tmp_path: Path) -> None:
    path = tmp_path / "slow.py"
    path.write_text(SLOW)
    env = server.env() | {"TRAINBOARD_DATA": str(tmp_path / "client")}
    with subprocess.Popen(
        [sys.executable, "-m", "trainboard.cli", "run", "--", sys.executable, str(path)],
        stdout=subprocess.DEVNULL,
        env=env,
    ) as proc:
        _resume_while_running(server, proc)


def _resume_while_running(server: ServerProcess, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while not httpx.get(f"{server.url}/api/runs").json()["runs"] and time.monotonic() < deadline:
        time.sleep(0.05)
    rid = latest_run(server)["id"]
    assert isinstance(rid, str)
    first, evs = collect(server.url, rid, max_events=3)
    rest, evs2 = collect(server.url, rid, last_event_id=evs[-1].id)
    assert evs2[-1].event == "done" and evs2[-1].json() == {"exit_code": 0}
    assert proc.wait(30) == 0
    stored = httpx.get(f"{server.url}/api/runs/{rid}/logs").content
    assert first + rest == stored
    assert stored.count(b"line 039") == 1
    # a client arriving after the end gets history, then done at once
    late, evs3 = collect(server.url, rid, timeout=10)
    assert late == stored and evs3[-1].event == "done"
    # ?offset= resumes like Last-Event-ID
    tail, _ = collect(server.url, rid, offset=len(stored) - 10)
    assert tail == stored[-10:]


def test_fifty_concurrent_clients_get_identical_bytes(server: ServerProcess, http: httpx.Client) -> None:
    c = http
    c.post("/api/runs", json={"id": "fan"})
    with concurrent.futures.ThreadPoolExecutor(50) as pool:
        futures = [pool.submit(collect, server.url, "fan") for _ in range(50)]
        time.sleep(1.0)
        expected = b""
        for i in range(200):
            chunk = f"step {i} ".encode() * 20 + b"\r\n"
            expected += chunk
            c.post(
                "/api/runs/fan/logs/raw",
                json={"chunks": [{"source": "stdout", "data": base64.b64encode(chunk).decode()}]},
            )
        c.put("/api/runs/fan", json={"status": "completed", "exit_code": 0})
        results = [f.result(timeout=60) for f in futures]
    assert all(data == expected for data, _ in results)
    assert all(evs[-1].event == "done" for _, evs in results)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_sigterm_with_open_streams_shuts_down_quickly(server: ServerProcess, http: httpx.Client) -> None:
    c = http
    c.post("/api/runs", json={"id": "open"})
    streams = [httpx.stream("GET", f"{server.url}/api/runs/open/logs/stream", timeout=30) for _ in range(5)]
    for s in streams:
        s.__enter__()
    assert server.proc is not None
    t0 = time.monotonic()
    server.proc.send_signal(signal.SIGTERM)
    server.proc.wait(15)
    assert time.monotonic() - t0 < 8
    for s in streams:
        try:
            s.__exit__(None, None, None)
        except httpx.HTTPError:
            pass
    assert os.path.exists(server.data_dir / "trainboard.db")


ORDER = r"""
import sys, time
for i in range(100):
    sys.stderr.write(f"\rbar {i} 50%")
    sys.stderr.flush()
    time.sleep(0.001)
    sys.stderr.write(f"\rbar {i} 100%\n")
    sys.stderr.flush()
    print(f"after {i}", flush=True)
"""


def test_one_terminal_keeps_the_exact_order(server: ServerProcess, tmp_path: Path, http: httpx.Client) -> None:
    """stdout and stderr to the same place (a terminal, or here one file): one pseudo-terminal, so a bar
    closed on stderr and a print on stdout right after it come out in the order written."""
    path = tmp_path / "order.py"
    path.write_text(ORDER)
    env = server.env() | {"TRAINBOARD_DATA": str(tmp_path / "client")}
    with open(tmp_path / "both.txt", "wb") as both:
        done = subprocess.run(
            [sys.executable, "-m", "trainboard.cli", "run", "--", sys.executable, str(path)],
            stdout=both,
            stderr=subprocess.STDOUT,
            env=env,
            timeout=120,
            check=False,
        )
    assert done.returncode == 0
    rid = latest_run(server)["id"]
    log = http.get(f"/api/runs/{rid}/logs").content
    for i in range(100):
        assert log.index(f"bar {i} 100%".encode()) < log.index(f"after {i}\r".encode())
    assert http.get(f"/api/runs/{rid}/logs", params={"source": "stderr"}).content == b""
    assert (tmp_path / "both.txt").read_bytes() == log  # mirrored exactly as stored
    forced = trainboard_run(server, tmp_path, ORDER, "--separate-stderr")
    assert forced.returncode == 0 and b"bar 99 100%" in forced.stderr and b"after 99" in forced.stdout


def test_disconnected_stream_clients_release_their_resources(server: ServerProcess, http: httpx.Client) -> None:
    http.post("/api/runs", json={"id": "gone"})
    streams = [httpx.stream("GET", f"{server.url}/api/runs/gone/logs/stream", timeout=30) for _ in range(10)]
    readers = [s.__enter__().iter_lines() for s in streams]  # keep the iterators: dropping one closes it
    for lines in readers:
        assert next(lines) == "retry: 1000"  # connected and served
    assert http.get("/health").json()["live_subscriptions"] == 10
    for s in streams:
        s.__exit__(None, None, None)
    deadline = time.monotonic() + 5
    while http.get("/health").json()["live_subscriptions"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert http.get("/health").json()["live_subscriptions"] == 0


def test_plain_commands_get_system_metrics_with_their_own_memory(
    server: ServerProcess, tmp_path: Path, http: httpx.Client
) -> None:
    script = "import time\nblob = bytearray(80 * 1024 * 1024)\ntime.sleep(2.0)\nprint(len(blob))\n"
    done = trainboard_run(server, tmp_path, script, "--system-interval", "0.3")
    assert done.returncode == 0
    rid = latest_run(server)["id"]
    metrics = http.get(f"/api/runs/{rid}/metrics").json()["metrics"]
    assert metrics["sys/cpu_percent"]["count"] >= 3
    assert max(metrics["sys/proc_rss"]["value"]) > 80 * 1024 * 1024  # the command's RSS, not the runner's
    assert metrics["sys/ram_used"]["value"][0] > 0
