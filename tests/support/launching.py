"""What the per-engine launch tests share: a launch-enabled server, the training script and the scenario steps."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from tests.support.servers import ServerProcess
from tests.support.sse import events

#: How the execution side calls trainboard in the tests: this interpreter (the engines run on this machine).
CLIENT = [sys.executable, "-m", "trainboard.cli"]

#: A training script: a tqdm bar, printed steps and metrics through the SDK (attached to the launched run).
TRAIN_SCRIPT = r"""
import sys, time
from tqdm import tqdm
from trainboard import TrainingMonitor

steps = int(sys.argv[1])
with TrainingMonitor(run_name="engine-train") as monitor:
    print("training starts", flush=True)
    for step in tqdm(range(steps), mininterval=0, desc="train"):
        monitor.log_metrics({"loss": 1.0 / (step + 1)}, step=step)
        if step % 5 == 0:
            print(f"step {step} loss {1.0 / (step + 1):.4f}", flush=True)
        time.sleep(0.1)
    print("training done", flush=True)
"""


@contextmanager
def launch_server(
    data_dir: Path, launch_root: Path, providers: Mapping[str, Mapping[str, Any]], *, cancel_grace: float = 5.0
) -> Iterator[ServerProcess]:
    """A ``trainboard serve --allow-launch`` (SQLite, auth off) whose providers.toml configures ``providers``."""
    data_dir.mkdir(parents=True, exist_ok=True)
    lines: list[str] = []
    for name, settings in providers.items():
        lines.append(f"[providers.{name}]")
        lines += [f"{key} = {_toml(value)}" for key, value in settings.items()]
    (data_dir / "providers.toml").write_text("\n".join(lines) + "\n")
    server = ServerProcess(
        data_dir=data_dir,
        db_url=None,
        extra_args=["--allow-launch", "--launch-root", str(launch_root), "--cancel-grace", str(cancel_grace)],
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _toml(value: Any) -> str:
    """A TOML value (strings, numbers, lists of them, inline tables of strings)."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {_toml(v)}" for k, v in value.items()) + "}"
    return json.dumps(value)


def write_script(launch_root: Path, name: str, text: str) -> Path:
    path = launch_root / name
    path.write_text(text)
    return path


#: Prints its arguments (shell metacharacters must arrive verbatim), then exits 3.
ARGV_EXIT3_SCRIPT = "import sys\nprint(repr(sys.argv[1:]), flush=True)\nraise SystemExit(3)\n"
#: Words a shell would interpret; a provider that let a shell see them unquoted would create ``pwned``.
SHELL_WORDS = ["$(touch pwned)", "a b", "'quoted'", "; echo no", "`id`", "x\ny"]


def launch(http: httpx.Client, provider: str, argv: list[str], **body: Any) -> dict[str, Any]:
    resp = http.post("/api/launch", json={"provider": provider, "argv": argv, **body})
    assert resp.status_code == 201, resp.text
    run: dict[str, Any] = resp.json()
    return run


def wait_status(http: httpx.Client, run_id: str, wanted: set[str], timeout: float = 60.0) -> dict[str, Any]:
    """Poll the run until its status is one of ``wanted``; returns the run."""
    deadline = time.monotonic() + timeout
    run: dict[str, Any] = {}
    while time.monotonic() < deadline:
        run = http.get(f"/api/runs/{run_id}").json()
        if run["status"] in wanted:
            return run
        time.sleep(0.2)
    launch_record = http.get(f"/api/runs/{run_id}/launch").json()
    raise AssertionError(f"run {run_id} still {run.get('status')!r} after {timeout} s; launch: {launch_record}")


def wait_launch(http: httpx.Client, run_id: str, timeout: float = 30.0) -> dict[str, Any]:
    """Poll the launch record until the job is finished; returns it."""
    deadline = time.monotonic() + timeout
    record: dict[str, Any] = {}
    while time.monotonic() < deadline:
        record = http.get(f"/api/runs/{run_id}/launch").json()
        if record["finished"]:
            return record
        time.sleep(0.2)
    raise AssertionError(f"launch of {run_id} not finished after {timeout} s: {record}")


def wait_record(http: httpx.Client, run_id: str, native: str, timeout: float = 30.0) -> dict[str, Any]:
    """Poll the launch record until the provider reported the job in its own state ``native``; returns it."""
    deadline = time.monotonic() + timeout
    record: dict[str, Any] = {}
    while time.monotonic() < deadline:
        record = http.get(f"/api/runs/{run_id}/launch").json()
        if record["native_state"] == native:
            return record
        time.sleep(0.2)
    raise AssertionError(f"launch of {run_id} never reported {native!r}: {record}")


#: Holds its CPUs until cancelled.
SLEEPER_SCRIPT = "import time\nprint('holding', flush=True)\ntime.sleep(300)\n"


def read_live_until(url: str, run_id: str, marker: bytes, timeout: float = 60.0) -> bytes:
    """Follow the run's SSE stream until ``marker`` has arrived; returns the bytes so far."""
    data = bytearray()
    deadline = time.monotonic() + timeout
    with httpx.stream("GET", f"{url}/api/runs/{run_id}/logs/stream", timeout=timeout) as resp:
        resp.raise_for_status()
        for ev in events(resp):
            if ev.event == "log":
                data += ev.payload
                if marker in data:
                    return bytes(data)
            elif ev.event == "done":
                break
            if time.monotonic() > deadline:
                break
    raise AssertionError(f"{marker!r} did not arrive live; got {bytes(data)[-2000:]!r}")


def assert_failed_with_exit_3(http: httpx.Client, run_id: str, launch_root: Path) -> None:
    """The ``ARGV_EXIT3_SCRIPT`` run given ``SHELL_WORDS``: failed with exit code 3, every word verbatim."""
    run = wait_status(http, run_id, {"completed", "failed", "interrupted"})
    assert run["status"] == "failed" and run["exit_code"] == 3
    record = wait_launch(http, run_id)
    assert record["state"] == "failed" and record["exit_code"] == 3 and record["native_state"] == "FAILED"
    # every argv word reached the program as it was sent: no shell interpreted any of them
    assert repr(SHELL_WORDS).encode() in stored_output(http, run_id)
    assert not (launch_root / "pwned").exists()


def follow_live_then_cancel(http: httpx.Client, url: str, run_id: str) -> dict[str, Any]:
    """The ``TRAIN_SCRIPT`` run: its output arrives live (the tqdm bar too), it is running with metrics, then a
    cancel interrupts it with SIGTERM's exit status and an event. Returns the finished launch record."""
    live = read_live_until(url, run_id, b"step 10 ")
    assert b"training starts" in live and b"train:" in live  # the tqdm bar, as the terminal showed it
    assert wait_status(http, run_id, {"running"})["status"] == "running"
    metrics = http.get(f"/api/runs/{run_id}/metrics", params={"keys": "loss"}).json()["metrics"]
    assert metrics["loss"]["count"] >= 5 and metrics["loss"]["value"][0] == 1.0

    resp = http.post(f"/api/runs/{run_id}/cancel")
    assert resp.status_code == 200, resp.text
    ended = wait_status(http, run_id, {"interrupted", "failed", "completed"}, timeout=30)
    assert ended["status"] == "interrupted"
    record = wait_launch(http, run_id)
    assert record["state"] == "cancelled" and record["cancel_requested_at"] is not None
    out = stored_output(http, run_id)
    assert b"step 10 " in out and b"training done" not in out
    assert ended["exit_code"] == 143  # SIGTERM, turned into SystemExit(143) by the SDK
    kinds = [e.get("kind") for e in run_events(http, run_id)]
    assert "cancel" in " ".join(str(k) for k in kinds), kinds
    return record


def stored_output(http: httpx.Client, run_id: str) -> bytes:
    return http.get(f"/api/runs/{run_id}/logs").content


def native_log(http: httpx.Client, run_id: str) -> bytes:
    resp = http.get(f"/api/runs/{run_id}/launch/logs")
    assert resp.status_code == 200, resp.text
    return resp.content


def run_events(http: httpx.Client, run_id: str) -> list[dict[str, Any]]:
    resp = http.get(f"/api/runs/{run_id}/events")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    found: list[dict[str, Any]] = body["events"] if isinstance(body, dict) else body
    return found


def kill_jobs_under(folder: Path) -> int:
    """Kill what local launches under ``folder`` left running (their reaper and its job): a test that fails
    before it cancels must not leave a job of hours running after it. Returns how many processes it killed."""
    import psutil

    marker = str(folder)
    killed = 0
    for proc in psutil.process_iter(["cmdline"]):
        try:
            if any(marker in part for part in proc.info["cmdline"] or ()):
                for child in proc.children(recursive=True):
                    child.kill()
                    killed += 1
                proc.kill()
                killed += 1
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return killed
