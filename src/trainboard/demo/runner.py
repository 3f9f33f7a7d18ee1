"""``trainboard demo``: serve the dashboard in this process and start synthetic runs through
``trainboard run`` (so the terminal view shows real PTY output: tqdm bars, colours, a warning, a
traceback), printing where to look."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from rich.console import Console

from trainboard.server.serve import make_server
from trainboard.server.settings import Settings


@dataclass(frozen=True)
class DemoRun:
    name: str
    args: tuple[str, ...]


DEMO_RUNS = (
    DemoRun("cifar-baseline", ("--epochs", "8", "--steps", "300", "--delay", "0.04")),
    DemoRun("cifar-lr-too-high", ("--epochs", "6", "--steps", "250", "--delay", "0.05", "--diverge")),
)


def _start_run(run: DemoRun, url: str, data: Path) -> subprocess.Popen[bytes]:
    cmd = [
        sys.executable,
        "-m",
        "trainboard.cli",
        "run",
        "--system-interval",
        "2",
        "--name",
        run.name,
        "--project",
        "demo",
        "--url",
        url,
        "--data",
        str(data),
        "--",
        sys.executable,
        "-m",
        "trainboard.demo.train",
        "--checkpoints",
        str(data / "checkpoints"),
        *run.args,
    ]
    env = dict(os.environ, COLUMNS="100", LINES="30")
    return subprocess.Popen(
        cmd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        start_new_session=True,
    )


def _wait_for_run(url: str, name: str, timeout: float = 30.0) -> str | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            runs = httpx.get(f"{url}/api/runs", params={"name": name, "limit": 1}, timeout=5).json()["runs"]
        except (httpx.HTTPError, KeyError, ValueError):
            runs = []
        if runs and runs[0]["status"] == "running":
            return str(runs[0]["id"])
        time.sleep(0.2)
    return None


def run_demo(settings: Settings, *, loop: bool, console: Console) -> int:
    server = make_server(settings)
    thread = threading.Thread(target=server.run, name="trainboard-server", daemon=True)
    thread.start()
    url = f"http://{settings.host}:{settings.port}"
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            console.print(f"[red]error:[/red] the server could not start on {url} (is the port in use? try --port)")
            return 1
        time.sleep(0.05)
    console.print(f"[bold yellow]trainboard demo[/bold yellow] — dashboard at [bold cyan]{url}[/bold cyan]")
    console.print(f"data: {settings.data_dir}   (Ctrl-C to stop)")
    children: list[subprocess.Popen[bytes]] = []
    stop = threading.Event()

    def on_signal(_signum: int, _frame: object) -> None:
        stop.set()

    previous = signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        while not stop.is_set():
            children = [_start_run(run, url, settings.data_dir) for run in DEMO_RUNS]
            for run in DEMO_RUNS:
                run_id = _wait_for_run(url, run.name)
                if run_id:
                    console.print(f"  ▶ run [bold]{run.name}[/bold] training live: {url}/runs/{run_id}", soft_wrap=True)
            while not stop.is_set() and any(c.poll() is None for c in children):
                stop.wait(0.5)
            if stop.is_set():
                break
            for run, child in zip(DEMO_RUNS, children, strict=True):
                verdict = "completed" if child.returncode == 0 else f"failed (exit {child.returncode})"
                console.print(f"  ■ run {run.name} {verdict}")
            if not loop:
                console.print(f"demo runs finished; the dashboard stays up at {url} until Ctrl-C")
                stop.wait()
    finally:
        signal.signal(signal.SIGINT, previous)
        for child in children:
            if child.poll() is None:
                os.killpg(child.pid, signal.SIGINT)
        for child in children:
            try:
                child.wait(15)
            except subprocess.TimeoutExpired:
                child.kill()
        server.should_exit = True
        thread.join(10)
        console.print("stopped")
    return 0
