"""The tail of a ``trainboard run`` recording reaches the server, and the SDK's notices stay out of it
(issue 22, items 1 and 3): redraw-heavy output on a busy machine, through the real CLI and server."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.support.servers import ServerProcess, free_port

TQDM = r"""
import sys
from tqdm import tqdm

outer = tqdm(total=5000, desc="steps", mininterval=0, file=sys.stderr)
for block in range(10):
    for _ in tqdm(range(500), desc=f"block {block}", mininterval=0, leave=False, position=1, file=sys.stderr):
        outer.update(1)
outer.close()
for i in range(3):
    print(f"evaluating shard {i}", file=sys.stderr, flush=True)
raise RuntimeError("the end of the run")
"""

NOTICES = r"""
import sys
from trainboard import TrainingMonitor

# attached to the `trainboard run` run, but reporting to a server that is not there: its notices
# ("cannot reach", "not uploaded yet") must reach the real stderr, not the recorded terminal
mon = TrainingMonitor("child", dashboard_url=sys.argv[1], flush_timeout=0.5, system_metrics=False)
mon.log_metrics({"loss": 1.0}, step=0)
print("hello from the child", flush=True)
mon.finish()
"""

_NOTICE_LINE = re.compile(rb"trainboard: [^\n]*\n")


@pytest.fixture
def cpu_burner() -> Iterator[None]:
    """Both cores kept busy for the length of the test (data loaders on a shared machine)."""
    procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    yield
    for proc in procs:
        proc.kill()
        proc.wait()


def trainboard_run(
    server: ServerProcess,
    tmp_path: Path,
    script: str,
    *args: str,
    run_args: tuple[str, ...] = (),
    timeout: float = 300,
) -> subprocess.CompletedProcess[bytes]:
    path = tmp_path / "train.py"
    path.write_text(script)
    env = server.env() | {"TRAINBOARD_DATA": str(tmp_path / "client")}
    cmd = [sys.executable, "-m", "trainboard.cli", "run", *run_args, "--", sys.executable, str(path), *args]
    return subprocess.run(cmd, capture_output=True, env=env, timeout=timeout, check=False)


def latest_run(server: ServerProcess) -> dict[str, object]:
    runs: list[dict[str, object]] = httpx.get(f"{server.url}/api/runs", timeout=30).json()["runs"]
    return runs[0]


def test_a_redraw_heavy_run_is_all_on_the_server_when_trainboard_run_exits(
    server: ServerProcess, tmp_path: Path, cpu_burner: None
) -> None:
    # --flush-timeout 2: the end waits while the upload makes progress (2 s without any), not 2 s in all
    done = trainboard_run(server, tmp_path, TQDM, run_args=("--flush-timeout", "2"))
    assert done.returncode == 1, done.stderr[-2000:]
    run = latest_run(server)
    assert run["status"] == "failed"
    stored = httpx.get(f"{server.url}/api/runs/{run['id']}/logs", params={"source": "stderr"}, timeout=60).content
    # what the program wrote is what `trainboard run` mirrored, up to the end of its traceback; after it
    # only trainboard's own notices may follow (on the real stderr, not recorded)
    end = done.stderr.rindex(b"RuntimeError: the end of the run") + len(b"RuntimeError: the end of the run\r\n")
    written, after = done.stderr[:end], done.stderr[end:]
    assert _NOTICE_LINE.sub(b"", after) == b"", after
    assert len(written) > 500_000  # redraw-heavy indeed
    assert stored == written, f"stored {len(stored)} of {len(written)} bytes"
    tail = stored[stored.rindex(b"evaluating shard 2") :].splitlines()
    assert tail[1] == b"Traceback (most recent call last):" and tail[2].startswith(b"  File ")
    assert tail[-1] == b"RuntimeError: the end of the run"  # the run's last lines are the traceback
    assert b"not uploaded" not in stored


def test_sdk_notices_go_to_the_real_stderr_not_into_the_recorded_terminal(
    server: ServerProcess, tmp_path: Path
) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"
    done = trainboard_run(server, tmp_path, NOTICES, nowhere, timeout=120)
    assert done.returncode == 0, done.stderr
    assert b"not uploaded yet" in done.stderr  # told on the terminal of `trainboard run`
    run = latest_run(server)
    stored = httpx.get(f"{server.url}/api/runs/{run['id']}/logs", timeout=30).content
    assert b"hello from the child" in stored
    assert b"not uploaded" not in stored and b"cannot reach" not in stored and b"trainboard:" not in stored
