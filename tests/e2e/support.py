"""Helpers of the end-to-end tests: the training runs, the UI bundle, reading the xterm buffer."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
STATIC_INDEX = ROOT / "src" / "trainboard" / "server" / "static" / "index.html"
API_DOCS_JS = STATIC_INDEX.parent / "apidocs" / "swagger-ui-bundle.js"  # copied from npm by the build
CHROMIUM = os.environ.get("TRAINBOARD_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCRIPT = Path(__file__).with_name("train_script.py")
OUTPUT = ROOT / "test-output" / "e2e"


def trainboard_cmd() -> list[str]:
    return [sys.executable, "-m", "trainboard.cli"]


@dataclass
class Dashboard:
    url: str
    data: Path
    env: dict[str, str]
    runs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start_run(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        """``trainboard run --name NAME -- python train_script.py ARGS``, output kept in the data dir."""
        with (self.data / f"run-{len(self.runs)}.out").open("wb") as log:
            proc = subprocess.Popen(
                [*trainboard_cmd(), "run", "--name", name, "--", sys.executable, str(SCRIPT), *args],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        self.runs.append(proc)
        return proc

    def run_id(self, name: str, timeout: float = 20.0) -> str:
        """The id of the run called ``name`` once the server has it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            runs = httpx.get(f"{self.url}/api/runs", params={"limit": 1000}).json()["runs"]
            for r in runs:
                if r["name"] == name:
                    return str(r["id"])
            time.sleep(0.2)
        raise AssertionError(f"run {name!r} never appeared on the server")

    def stop_runs(self) -> None:
        for r in self.runs:
            if r.poll() is None:
                r.terminate()
                try:
                    r.wait(10)
                except subprocess.TimeoutExpired:
                    r.kill()

    def wait_status(self, run_id: str, status: str, timeout: float = 60.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        run: dict[str, Any] = {}
        while time.monotonic() < deadline:
            run = httpx.get(f"{self.url}/api/runs/{run_id}").json()
            if run.get("status") == status:
                return run
            time.sleep(0.25)
        raise AssertionError(f"run {run_id} is {run.get('status')!r}, not {status!r}")


def _bundle_is_current() -> bool:
    """Built, and newer than every web source (the install hook's own staleness rule, hatch_build.needs_build): a
    bundle built before a change to web/ would test the old UI."""
    if not API_DOCS_JS.is_file():
        return False
    spec = importlib.util.spec_from_file_location("hatch_build", ROOT / "hatch_build.py")
    assert spec is not None and spec.loader is not None
    hook = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hook)
    return not hook.needs_build(ROOT / "web", STATIC_INDEX)


def ensure_bundle() -> None:
    if _bundle_is_current():
        return
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("the web UI is not built and npm is missing (Node.js needed)")
    web = ROOT / "web"
    if not (web / "node_modules" / "swagger-ui-dist").is_dir():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=web, check=True)
    subprocess.run([npm, "run", "build"], cwd=web, check=True)


def shot(page: Any, name: str) -> None:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(OUTPUT / f"{name}.png"), full_page=True)


TERMINAL_LINES_JS = """() => {
  const t = window.trainboard && window.trainboard.terminal;
  if (!t) return null;
  const b = t.buffer.active;
  const out = [];
  for (let i = 0; i < b.length; i++) out.push(b.getLine(i).translateToString(true));
  while (out.length && out[out.length - 1] === '') out.pop();
  return out;
}"""

CELL_COLOR_JS = """(needle) => {
  const b = window.trainboard.terminal.buffer.active;
  for (let i = 0; i < b.length; i++) {
    const line = b.getLine(i);
    const x = line.translateToString(true).indexOf(needle);
    if (x < 0) continue;
    const cell = line.getCell(x);
    return {palette: cell.isFgPalette(), color: cell.getFgColor(), rgb: cell.isFgRGB()};
  }
  return null;
}"""


def terminal_lines(page: Any) -> list[str]:
    lines = page.evaluate(TERMINAL_LINES_JS)
    return list(lines or [])
