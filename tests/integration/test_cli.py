"""The client commands against a real server: ls, export, logs, db upgrade, and their error messages."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import httpx
from tests.support.servers import ServerProcess


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "trainboard.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )


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
    assert bad.returncode == 2 and "--format must be csv or json" in bad.stderr
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
    assert first.returncode == 0 and "migrated empty database -> 0001" in first.stdout, first.stderr
    again = cli("db", "upgrade", *target)
    assert again.returncode == 0 and "up to date" in again.stdout
    broken = cli("db", "upgrade", "--db", "postgresql://nobody@127.0.0.1:1/none")
    assert broken.returncode == 1 and "cannot migrate" in broken.stderr and "Traceback" not in broken.stderr
