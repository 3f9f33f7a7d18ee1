"""Structured log lines from real logging libraries under `trainboard run` and the SDK capture: fields stored,
levels (custom ones too) right, the terminal's bytes unchanged; the run's levels; `q` on a run's lines."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.support.servers import ServerProcess

SCRIPT = r"""
import logging, sys
import structlog
from loguru import logger
from pythonjsonlogger import jsonlogger

structlog.configure(
    processors=[structlog.processors.add_log_level, structlog.processors.TimeStamper(fmt="iso"),
                structlog.processors.JSONRenderer()],
    logger_factory=structlog.PrintLoggerFactory(sys.stdout),
)
structlog.get_logger().warning("loss spiked", step=1200, loss=7.5)

logger.remove()
logger.add(sys.stdout, serialize=True, level="TRACE")
logger.level("PROGRESS", no=23)
logger.bind(step=7, phase="eval").log("PROGRESS", "eval half done")
logger.success("checkpoint saved")
logger.trace("tiny detail")

logging.addLevelName(25, "MILESTONE")
handler = logging.StreamHandler(sys.stdout)
handler.setFormatter(jsonlogger.JsonFormatter("%(asctime)s %(levelname)s %(levelno)s %(name)s %(message)s"))
data_log = logging.getLogger("train.data.loader")
data_log.addHandler(handler)
data_log.setLevel(logging.DEBUG)
data_log.log(25, "shard 3 loaded", extra={"shard": 3})
data_log.error("CUDA out of memory while loading", extra={"step": 2000})
print('level=info msg="logfmt line" step=5 ok=true')
print('{"broken json": ')
print("plain line 42")
sys.stdout.flush()
"""

EXPECTED_TERMINAL_LINES = 9


def _run(server: ServerProcess, tmp_path: Path, *argv: str) -> str:
    env = server.env() | {"TRAINBOARD_DATA": str(tmp_path / "client")}
    done = subprocess.run(argv, capture_output=True, env=env, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.decode()


def _lines(server: ServerProcess, rid: str, **params: Any) -> list[dict[str, Any]]:
    resp = httpx.get(f"{server.url}/api/runs/{rid}/logs/lines", params={"limit": 1000, **params}, timeout=30)
    assert resp.status_code == 200, resp.text
    return list(resp.json()["lines"])


def _check_run(server: ServerProcess, rid: str, printed: bytes) -> None:
    raw = httpx.get(f"{server.url}/api/runs/{rid}/logs", timeout=30).content
    assert printed.replace(b"\r\n", b"\n") in raw.replace(b"\r\n", b"\n")  # the terminal's bytes, unchanged
    lines = {ln["message"]: ln for ln in _lines(server, rid)}

    spike = lines["loss spiked"]
    assert (spike["level"], spike["level_no"]) == ("WARNING", 30)
    assert spike["fields"] == {"step": 1200, "loss": 7.5}
    assert spike["logged_at"] is not None
    assert spike["display"].startswith('{"')  # the row still shows what was printed

    progress = lines["eval half done"]
    assert (progress["level"], progress["level_no"]) == ("PROGRESS", 23)
    assert progress["fields"]["step"] == 7 and progress["fields"]["phase"] == "eval"
    assert progress["logger"] == "__main__"
    assert (lines["checkpoint saved"]["level"], lines["checkpoint saved"]["level_no"]) == ("SUCCESS", 25)
    assert (lines["tiny detail"]["level"], lines["tiny detail"]["level_no"]) == ("TRACE", 5)

    milestone = lines["shard 3 loaded"]
    assert (milestone["level"], milestone["level_no"], milestone["logger"]) == ("MILESTONE", 25, "train.data.loader")
    assert milestone["fields"] == {"shard": 3}
    oom = lines["CUDA out of memory while loading"]
    assert (oom["level"], oom["level_no"]) == ("ERROR", 40)

    logfmt = lines["logfmt line"]
    assert logfmt["fields"] == {"step": 5, "ok": True} and logfmt["level"] == "INFO"
    assert lines['{"broken json":'].get("fields") is None  # malformed JSON stays a plain line
    assert lines["plain line 42"].get("fields") is None

    levels = httpx.get(f"{server.url}/api/runs/{rid}/logs/levels", timeout=30).json()["levels"]
    names = [lv["name"] for lv in levels]
    assert names.index("TRACE") < names.index("PROGRESS") < names.index("SUCCESS") < names.index("WARNING")
    assert {lv["name"]: lv["level_no"] for lv in levels}["MILESTONE"] == 25

    def q(query: str) -> list[str]:
        return [ln["message"] for ln in _lines(server, rid, q=query)]

    assert q("level>=warning") == ["loss spiked", "CUDA out of memory while loading"]
    assert q("level:progress") == ["eval half done"]
    assert q("logger:train.data") == ["shard 3 loaded", "CUDA out of memory while loading"]
    assert q("logger:train.dat") == []  # a logger and those below it, not a prefix of its name
    assert q("field.step>1000") == ["loss spiked", "CUDA out of memory while loading"]
    assert q('field.phase:"eval"') == ["eval half done"]
    assert q("field.ok:true") == ["logfmt line"]
    assert q('"out of memory" -loading') == []
    assert q("/^plain line \\d+$/") == ["plain line 42"]
    assert q("level>=warning -field.step>1500") == ["loss spiked"]
    assert q("time:-1h..") and q("time:..-1h") == []
    assert q("level<=debug") == ["tiny detail"]
    assert q("level=25") == ["checkpoint saved", "shard 3 loaded"]
    assert q("level>40") == []
    assert q("field.step!=7 field.step<=1200") == ["loss spiked", "logfmt line"]
    assert q("level:success logger!=__main__") == ["shard 3 loaded"]  # a level name stands for its number (25)
    assert q("-level:info -level>=warning") == ["eval half done", "checkpoint saved", "tiny detail", "shard 3 loaded"]

    bad = httpx.get(f"{server.url}/api/runs/{rid}/logs/lines", params={"q": "level>=warning levle>=3"}, timeout=30)
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["query", "q"]
    assert bad.json()["detail"][0]["msg"].startswith("at 15: unknown key 'levle'")


@pytest.mark.timeout(300)
def test_real_libraries_under_trainboard_run(server: ServerProcess, tmp_path: Path) -> None:
    script = tmp_path / "logs.py"
    script.write_text(SCRIPT)
    printed = _run(
        server,
        tmp_path,
        sys.executable,
        "-m",
        "trainboard.cli",
        "run",
        "--flush-timeout",
        "120",
        "--",
        sys.executable,
        str(script),
    )
    assert printed.count("\n") >= EXPECTED_TERMINAL_LINES
    rid = httpx.get(f"{server.url}/api/runs", timeout=30).json()["runs"][0]["id"]
    _check_run(server, rid, printed.encode())


@pytest.mark.timeout(300)
def test_real_libraries_under_the_sdk_capture(server: ServerProcess, tmp_path: Path) -> None:
    script = tmp_path / "logs_sdk.py"
    script.write_text(
        "from trainboard import TrainingMonitor\n"
        "with TrainingMonitor(run_name='sdk-structured') as monitor:\n"
        + "\n".join("    " + line for line in SCRIPT.strip().splitlines())
        + "\n    open(sys.argv[1], 'w').write(monitor.run_id)\n"
    )
    env = server.env() | {"TRAINBOARD_DATA": str(tmp_path / "client")}
    id_file = tmp_path / "run_id"
    done = subprocess.run([sys.executable, str(script), str(id_file)], capture_output=True, env=env, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    rid = id_file.read_text()
    _check_run(server, rid, done.stdout)
