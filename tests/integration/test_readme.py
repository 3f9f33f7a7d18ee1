"""The README's SDK example runs as written and its commands exist."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from tests.support.servers import ServerProcess

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_sdk_example_runs_as_written(server: ServerProcess, tmp_path: Path) -> None:
    example = re.search(r"## Log from a training script\s+```python\n(.*?)```", README.read_text(), re.S)
    assert example is not None
    code = example.group(1)
    assert len(code.strip().splitlines()) <= 12
    script = tmp_path / "example.py"
    script.write_text(code)
    env = server.env() | {"TRAINBOARD_DATA": str(tmp_path / "client")}
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "step 750" in done.stdout
    run = httpx.get(f"{server.url}/api/runs").json()["runs"][0]
    assert run["name"] == "quickstart" and run["status"] == "completed"
    loss = httpx.get(f"{server.url}/api/runs/{run['id']}/metrics", params={"keys": "loss"}).json()["metrics"]["loss"]
    assert loss["count"] == 1000
    log = httpx.get(f"{server.url}/api/runs/{run['id']}/logs").content
    assert b"step 250: loss" in log  # captured output


def test_readme_commands_are_real() -> None:
    text = README.read_text()
    first = text.split("\n## ")[0]
    assert "trainboard demo" in first and "scripts/test" in first
    help_text = subprocess.run(
        [sys.executable, "-m", "trainboard.cli", "--help"],
        capture_output=True,
        text=True,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
    ).stdout
    for command in re.findall(r"^\| `trainboard (\w+)", text, re.M):
        assert command in help_text, command


def test_readme_command_options_exist() -> None:
    """Every ``--option`` a row of the README's command table names is in that command's ``--help``."""
    text = README.read_text()
    table = text.split("## Command line", 1)[1].split("\n## ", 1)[0]
    checked = 0
    for line in table.splitlines():
        row = re.match(r"\| `trainboard ([a-z]+)(?: ([a-z]+))?", line)
        if row is None:
            continue
        groups = ("db", "user", "token", "import", "bookmark")
        command = [row.group(1)] + ([row.group(2)] if row.group(1) in groups and row.group(2) else [])
        options = set(re.findall(r"(?<![\w-])--[a-z][a-z-]+", line))
        if not options:
            continue
        shown = subprocess.run(
            [sys.executable, "-m", "trainboard.cli", *command, "--help"],
            capture_output=True,
            text=True,
            env={"COLUMNS": "250", "PATH": "/usr/bin:/bin", "NO_COLOR": "1"},
            check=True,
        ).stdout
        for option in options:
            assert option in shown, (command, option)
            checked += 1
    assert checked >= 5
