"""The client commands against a real server: ls, export, logs, db upgrade, and their error messages."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from tests.support.cli import cli
from tests.support.servers import ServerProcess


def test_ls_export_and_logs(server: ServerProcess, http: httpx.Client) -> None:
    http.post("/api/runs", json={"id": "cli-run", "name": "<b>bold</b> name", "project": "p"})
    http.post(
        "/api/runs/cli-run/metrics",
        json={"points": [{"step": 0, "metrics": {"loss": 1.5}}, {"step": 1, "metrics": {"loss": "NaN", "acc": 0.5}}]},
    )
    http.post(
        "/api/runs/cli-run/logs/batch",
        json={"lines": [{"message": "all good"}, {"message": "disk full", "level": "ERROR"}]},
    )
    env = server.env() | {"COLUMNS": "200"}
    listing = cli("ls", env=env)
    assert listing.returncode == 0 and "cli-run" in listing.stdout and "<b>bold</b> name" in listing.stdout
    assert "RUNNING" in listing.stdout
    as_json = json.loads(cli("ls", "--json", env=env).stdout)
    assert as_json["runs"][0]["id"] == "cli-run"
    rows = list(csv.DictReader(io.StringIO(cli("export", "cli-run", "--format", "csv", env=env).stdout)))
    assert [(r["key"], r["step"], r["value"]) for r in rows] == [
        ("acc", "1", "0.5"),
        ("loss", "0", "1.5"),
        ("loss", "1", "NaN"),
    ]
    doc = json.loads(cli("export", "cli-run", "--format", "json", env=env).stdout)
    assert doc["metrics"]["loss"]["value"] == [1.5, "NaN"]
    errors = cli("logs", "cli-run", "--level", "error", env=env)
    assert errors.returncode == 0 and errors.stdout.strip() == "disk full"
    assert cli("logs", "cli-run", "--grep", "GOOD", env=env).stdout.strip() == "all good"


def test_client_errors_are_messages_not_tracebacks(server: ServerProcess, tmp_path: Path) -> None:
    env = server.env()
    missing = cli("logs", "nope", env=env)
    assert missing.returncode == 1 and "run 'nope' not found" in missing.stderr and "Traceback" not in missing.stderr
    bad = cli("export", "nope", "--format", "xml", env=env)
    assert bad.returncode == 2 and "--format must be one of csv, json, parquet, tensorboard" in bad.stderr
    down = cli("ls", env=env | {"TRAINBOARD_URL": "http://127.0.0.1:9"})
    assert down.returncode == 1 and "cannot reach the trainboard server" in down.stderr
    assert "Traceback" not in down.stderr
    no_cmd = cli("run", env=env)
    assert no_cmd.returncode == 2 and "no command given" in no_cmd.stderr
    unknown = cli("run", "--", "/no/such/program", env=env | {"TRAINBOARD_DATA": str(tmp_path)})
    assert unknown.returncode == 127 and "cannot start" in unknown.stderr


def test_db_upgrade(tmp_path: Path, db_url: str | None) -> None:
    target = ["--data", str(tmp_path)] + (["--db", db_url] if db_url else [])
    first = cli("db", "upgrade", *target)
    assert first.returncode == 0 and "migrated empty database -> 0" in first.stdout, first.stderr
    again = cli("db", "upgrade", *target)
    assert again.returncode == 0 and "up to date" in again.stdout
    broken = cli("db", "upgrade", "--db", "postgresql://nobody@127.0.0.1:1/none")
    assert broken.returncode == 1 and "cannot migrate" in broken.stderr and "Traceback" not in broken.stderr


def record(server: ServerProcess, tmp_path: Path, name: str, code: str) -> str:
    """A run made by ``trainboard run --name NAME -- python -c CODE``; returns its id."""
    env = server.env() | {"TRAINBOARD_DATA": str(tmp_path / "client")}
    done = cli("run", "--name", name, "--system-interval", "0", "--", sys.executable, "-c", code, env=env)
    assert done.returncode == 0, done.stderr
    runs = httpx.get(f"{server.url}/api/runs", params={"name": name}).json()["runs"]
    return str(runs[0]["id"])


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_run_names_work_wherever_an_id_does(server: ServerProcess, http: httpx.Client, tmp_path: Path) -> None:
    older = record(server, tmp_path, "sweep-a", "print('first attempt')")
    newer = record(server, tmp_path, "sweep-a", "print('second attempt')")
    other = record(server, tmp_path, "baseline", "print('baseline output')")
    for run_id, loss in ((older, 9.0), (newer, 0.25), (other, 5.0)):
        http.post(f"/api/runs/{run_id}/metrics", json={"points": [{"step": 1, "metrics": {"loss": loss}}]})
    env = server.env()

    one = cli("logs", "baseline", env=env)
    assert one.returncode == 0 and "baseline output" in one.stdout and one.stderr == ""

    # an ambiguous name: the newest run, and the others named on stderr in one line
    logs = cli("logs", "sweep-a", env=env)
    assert logs.returncode == 0, logs.stderr
    assert "second attempt" in logs.stdout and "first attempt" not in logs.stdout
    notes = logs.stderr.strip().splitlines()
    assert len(notes) == 1 and "2 runs are named 'sweep-a'" in notes[0] and older in notes[0] and newer in notes[0]
    rows = list(csv.DictReader(io.StringIO(cli("export", "sweep-a", env=env).stdout)))
    assert [(r["key"], r["value"]) for r in rows] == [("loss", "0.25")]
    assert json.loads(cli("export", "baseline", "--format", "json", env=env).stdout)["metrics"]["loss"]["value"] == [
        5.0
    ]

    # ids still win, and so do the short ids that `ls` prints
    assert "first attempt" in cli("logs", older, env=env).stdout
    listing = cli("ls", env=env | {"COLUMNS": "80"}).stdout
    short = next(line.split()[0] for line in listing.splitlines() if " baseline " in f" {line} ")
    assert short != other and short in other
    assert "baseline output" in cli("logs", short, env=env).stdout

    unknown = cli("logs", "no-such-run", env=env)
    assert unknown.returncode == 1 and "run 'no-such-run' not found" in unknown.stderr
    assert "Traceback" not in unknown.stderr and unknown.stdout == ""
    unknown_export = cli("export", "no-such-run", env=env)
    assert unknown_export.returncode == 1 and "not found" in unknown_export.stderr
    assert "Traceback" not in unknown_export.stderr


RED_WARNING = "print('\\x1b[31mWARNING: disk almost full\\x1b[0m'); print('\\x1b[1mepoch 1\\x1b[0m done')"


def on_a_terminal(args: list[str], env: dict[str, str]) -> bytes:
    """What the CLI writes when its stdout is a terminal (a pseudo-terminal here)."""
    master, slave = os.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "trainboard.cli", *args], stdout=slave, stderr=slave, env=env)
    os.close(slave)
    out = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the other side is closed
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    assert proc.wait(60) == 0, out
    return out


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_color_auto_always_never(server: ServerProcess, tmp_path: Path) -> None:
    run_id = record(server, tmp_path, "colours", RED_WARNING)
    env = server.env()
    piped = cli("logs", run_id, "--level", "warning", env=env)
    assert piped.returncode == 0 and piped.stdout == "WARNING: disk almost full\n"  # auto, piped: plain
    always = cli("logs", run_id, "--level", "warning", "--color", "always", env=env).stdout
    assert always == "\x1b[31mWARNING: disk almost full\x1b[0m\n"
    assert cli("logs", run_id, "--grep", "epoch", "--color", "never", env=env).stdout == "epoch 1 done\n"
    assert "\x1b[31mWARNING" in on_a_terminal(["logs", run_id, "--level", "warning"], env).decode()
    assert b"\x1b[" not in on_a_terminal(["logs", run_id, "--level", "warning", "--color", "never"], env)
    # raw output: the recording byte for byte, unless never (colour codes gone, line endings kept)
    raw = subprocess.run([sys.executable, "-m", "trainboard.cli", "logs", run_id], capture_output=True, env=env)
    assert b"\x1b[31mWARNING: disk almost full\x1b[0m\r\n" in raw.stdout
    plain = subprocess.run(
        [sys.executable, "-m", "trainboard.cli", "logs", run_id, "--color", "never"], capture_output=True, env=env
    )
    assert plain.stdout == b"WARNING: disk almost full\r\nepoch 1 done\r\n"
    # ls: status colours only on a terminal or with always
    assert "\x1b[" not in cli("ls", env=env).stdout
    assert "\x1b[" in cli("ls", "--color", "always", env=env).stdout
    bad = cli("logs", run_id, "--color", "sometimes", env=env)
    assert bad.returncode == 2 and "--color" in bad.stderr and "Traceback" not in bad.stderr


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_ls_keeps_names_readable_at_80_columns(server: ServerProcess, http: httpx.Client) -> None:
    names = {
        "20261201-093015-5f3a9c": "quickstart-baseline",
        "20261201-101502-0b7e41": "cifar-lr-too-high",
        "7d0c1f2e9a8b4c6d": "bert-base-finetune-glue",
    }
    for run_id, name in names.items():
        http.post("/api/runs", json={"id": run_id, "name": name, "project": "image-classification"})
    narrow = cli("ls", env=server.env() | {"COLUMNS": "80"})
    assert narrow.returncode == 0, narrow.stderr
    lines = narrow.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert "…" not in narrow.stdout
    for run_id, name in names.items():
        row = next(line for line in lines if name in line)  # the whole name, on one line
        assert run_id not in narrow.stdout
        short = row.split()[0]
        assert 6 <= len(short) <= 8 and short in run_id
    assert "5f3a9c" in narrow.stdout  # the random part of an SDK id, not its date
    wide = cli("ls", "--wide", env=server.env() | {"COLUMNS": "200"})
    for run_id, name in names.items():
        assert any(run_id in line and name in line for line in wide.stdout.splitlines()), wide.stdout


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_sdk_under_trainboard_run_records_the_traceback_once(server: ServerProcess, tmp_path: Path) -> None:
    """The pseudo-terminal has the traceback already: the SDK inside must not add a second copy."""
    code = "from trainboard import TrainingMonitor\nwith TrainingMonitor():\n    raise ValueError('boom')\n"
    env = server.env() | {"TRAINBOARD_DATA": str(tmp_path / "client")}
    done = cli("run", "--name", "dies", "--system-interval", "0", "--", sys.executable, "-c", code, env=env)
    assert done.returncode == 1, done.stderr
    log = cli("logs", "dies", env=server.env()).stdout
    assert log.count("Traceback (most recent call last):") == 1, log
    assert log.count("ValueError: boom") == 1, log
