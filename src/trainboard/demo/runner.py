"""``trainboard demo``: serve the dashboard in this process and keep synthetic runs training through
``trainboard run`` (so the terminal view shows real PTY output: tqdm bars, colours, a warning, a
traceback) until Ctrl-C, each run starting again as soon as it ends, printing what it does."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from rich.console import Console

from trainboard.demo.train import STABLE_LR
from trainboard.server.lifecycle.uvicorn_server import make_server
from trainboard.server.settings import Settings


@dataclass(frozen=True)
class DemoRun:
    name: str
    epochs: int
    steps: int
    delay: float
    lr: float
    story: str

    def args(self, scale: float, seed: int) -> list[str]:
        steps = max(4, round(self.steps * scale))
        timing = ["--epochs", str(self.epochs), "--steps", str(steps), "--delay", str(self.delay)]
        return [*timing, "--lr", f"{self.lr:g}", "--seed", str(seed)]


BASE_LR = 3e-4
DEMO_RUNS = (
    DemoRun("cifar-baseline", 8, 300, 0.04, BASE_LR, f"lr {BASE_LR:g}: converges, saves checkpoints"),
    DemoRun(
        "cifar-lr-too-high",
        6,
        250,
        0.05,
        10 * BASE_LR,
        f"lr {10 * BASE_LR:g}, 10x higher: the loss turns NaN halfway, it fails",
    ),
)
assert DEMO_RUNS[1].lr > STABLE_LR >= DEMO_RUNS[0].lr


@dataclass
class Slot:
    """One demo run kind and its current ``trainboard run`` process (restarted when it ends)."""

    kind: DemoRun
    started: int = 0
    child: subprocess.Popen[bytes] | None = None
    run_id: str | None = None
    seen: set[str] = field(default_factory=set)


def _start_run(run: DemoRun, url: str, data: Path, scale: float, seed: int) -> subprocess.Popen[bytes]:
    cmd = [
        sys.executable,
        "-m",
        "trainboard.cli",
        "run",
        "--no-parse-metrics",  # the demo logs its metrics through the SDK; its printed lines would add copies
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
        *run.args(scale, seed),
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


def _run_ids(url: str, name: str) -> list[str]:
    """Ids of the runs called ``name``, newest first (empty when the server does not answer)."""
    try:
        runs = httpx.get(f"{url}/api/runs", params={"name": name, "limit": 50}, timeout=5).json()["runs"]
    except (httpx.HTTPError, KeyError, ValueError):
        return []
    return [str(r["id"]) for r in runs]


def _banner(console: Console, url: str, settings: Settings, once: bool) -> None:
    console.print(
        f"[bold yellow]trainboard demo[/bold yellow]: the dashboard is at [bold cyan]{url}[/bold cyan]  (Ctrl-C stops)",
        soft_wrap=True,
    )
    console.print("Two synthetic training runs, recorded through `trainboard run`:")
    width = max(len(r.name) for r in DEMO_RUNS)
    for r in DEMO_RUNS:
        console.print(f"  [bold]{r.name:<{width}}[/bold]  {r.story}", highlight=False)
    if once:
        console.print("Each runs once; the dashboard stays up until Ctrl-C.")
    else:
        console.print("Each starts again as soon as it ends, so something is always live.")
    console.print(
        f"Runs are kept in {settings.data_dir} (`trainboard serve` shows them later).\n",
        highlight=False,
        soft_wrap=True,
    )


def run_demo(settings: Settings, *, once: bool = False, console: Console, scale: float = 1.0) -> int:
    """Serve and keep the demo runs going until SIGINT/SIGTERM (``once``: one of each, then just serve).
    ``scale`` multiplies the steps per epoch (tests make the runs short)."""
    server = make_server(settings)
    thread = threading.Thread(target=server.run, name="trainboard-server", daemon=True)
    thread.start()
    url = f"http://{settings.host}:{settings.port}"
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            console.print(
                f"[red]error:[/red] the server could not start on {url} (is the port in use? try --port)",
                soft_wrap=True,
            )
            return 1
        time.sleep(0.05)
    _banner(console, url, settings, once)
    stop = threading.Event()

    def on_signal(_signum: int, _frame: object) -> None:
        stop.set()

    previous = signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    slots = [Slot(kind) for kind in DEMO_RUNS]
    try:
        while not stop.is_set():
            for slot in slots:
                _tend(slot, url, settings.data_dir, scale, once, console)
            if once and all(s.child is None for s in slots) and not stop.is_set():
                console.print(f"The demo runs are done; the dashboard stays up at {url} until Ctrl-C.")
                stop.wait()
            stop.wait(0.25)
    finally:
        signal.signal(signal.SIGINT, previous)
        running = [s.child for s in slots if s.child is not None and s.child.poll() is None]
        if running:
            console.print(f"\nstopping: {len(running)} run(s) still training are marked interrupted")
        for child in running:
            os.killpg(child.pid, signal.SIGINT)
        for child in running:
            try:
                child.wait(15)
            except subprocess.TimeoutExpired:
                child.kill()
        server.should_exit = True
        thread.join(10)
        console.print(f"stopped; the runs stay in {settings.data_dir}", highlight=False, soft_wrap=True)
    return 0


def _tend(slot: Slot, url: str, data: Path, scale: float, once: bool, console: Console) -> None:
    """Start the slot's run when none is going, announce it once the server has it, report its end."""
    name = slot.kind.name
    if slot.child is None:
        if once and slot.started:
            return
        slot.seen = set(_run_ids(url, name))
        slot.started += 1
        slot.run_id = None
        slot.child = _start_run(slot.kind, url, data, scale, seed=7 + slot.started)
        return
    if slot.run_id is None:
        fresh = [i for i in _run_ids(url, name) if i not in slot.seen]
        if fresh:
            slot.run_id = fresh[0]
            console.print(
                f"{_now()}  ▶ {name} #{slot.started} live at {url}/runs/{slot.run_id}",
                soft_wrap=True,
                highlight=False,
            )
    code = slot.child.poll()
    if code is None:
        return
    if code == 0:
        verdict = f"[green]✓[/green] {name} #{slot.started} completed"
    elif slot.kind.lr > STABLE_LR:
        verdict = f"[red]✗[/red] {name} #{slot.started} failed (exit {code}): loss NaN at lr {slot.kind.lr:g}"
    else:
        verdict = f"[red]✗[/red] {name} #{slot.started} failed (exit {code})"
    again = "" if once else "; starting it again"
    console.print(f"{_now()}  {verdict}{again}", soft_wrap=True, highlight=False)
    slot.child = None


def _now() -> str:
    return time.strftime("%H:%M:%S")
