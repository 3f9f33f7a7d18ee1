"""The client never loads the server: ``import trainboard``, the CLI module and every client command
(``run``, ``ls``, ``logs``, ``export``, ``sync``) leave fastapi, sqlalchemy, numpy & co. and
``trainboard.server`` unimported, in processes of this environment (which has them all installed).
``trainboard run -- CMD``, which wraps every training script, loads no CLI framework either (Typer, Click,
pydantic, Rich, Pygments, the other commands' modules): its start is part of every run's time (issue 22).

What a process loaded is read from ``sys.modules`` when it exits, by a ``sitecustomize`` put first on its
``PYTHONPATH``, so the real command runs unchanged (lazy imports in threads and at exit included).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.support.servers import ServerProcess

#: Packages of the ``[server]`` extra (and the server itself) that no client path may load.
SERVER_ONLY = (
    "trainboard.server",
    "fastapi",
    "starlette",
    "sqlalchemy",
    "numpy",
    "alembic",
    "uvicorn",
    "redis",
    "psycopg",
)

SITECUSTOMIZE = textwrap.dedent(
    """
    import atexit, json, os, sys

    _out = os.environ.pop("TB_MODULES_OUT", None)  # popped: a Python child does not overwrite it
    if _out:
        def _dump():
            with open(_out, "w") as f:
                json.dump(sorted(sys.modules), f)
        atexit.register(_dump)  # registered first, so it runs last
    """
)


#: What ``trainboard run [OPTIONS] -- CMD`` does without: the CLI framework and the other commands.
NOT_ON_THE_RUN_PATH = (
    "typer",
    "click",
    "pydantic",
    "rich",
    "pygments",
    "trainboard.cli_common",
    "trainboard.cli_launch",
    "trainboard.cli_query",
    "trainboard.cli_sync",
)


def server_modules(loaded: list[str], heavy: tuple[str, ...] = SERVER_ONLY) -> list[str]:
    return sorted(m for m in loaded if any(m == s or m.startswith(s + ".") for s in heavy))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = ServerProcess(data_dir=tmp_path_factory.mktemp("server"), db_url=None).start()
    yield proc
    proc.stop()


def loaded_by(
    tmp_path: Path, server: ServerProcess, args: list[str]
) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """Run ``python ARGS`` with the recording sitecustomize; its result and the modules it had loaded."""
    site = tmp_path / "site"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(SITECUSTOMIZE)
    out = tmp_path / "modules.json"
    out.unlink(missing_ok=True)
    env = server.env() | {
        "TRAINBOARD_DATA": str(tmp_path / "client"),
        "PYTHONPATH": os.pathsep.join([str(site), *filter(None, [os.environ.get("PYTHONPATH")])]),
        "TB_MODULES_OUT": str(out),
    }
    done = subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env, timeout=120, check=False)
    assert out.exists(), f"the recording sitecustomize did not run:\n{done.stderr}"
    return done, json.loads(out.read_text())


def test_import_trainboard_and_the_cli_load_no_server(tmp_path: Path, server: ServerProcess) -> None:
    code = "import trainboard, trainboard.cli, trainboard.sdk.sync; trainboard.TrainingMonitor"
    done, loaded = loaded_by(tmp_path, server, ["-c", code])
    assert done.returncode == 0, done.stderr
    assert "trainboard.cli" in loaded and "trainboard.sdk.monitor" in loaded  # the recording saw them
    assert server_modules(loaded) == []


def test_sdk_script_loads_no_server(tmp_path: Path, server: ServerProcess) -> None:
    code = (
        "import trainboard\n"
        "with trainboard.TrainingMonitor(run_name='imports', system_interval=0.05) as m:\n"
        "    m.log_metrics({'loss': 0.5}, step=1)\n"
        "    print('hello', flush=True)\n"
    )
    done, loaded = loaded_by(tmp_path, server, ["-c", code])
    assert done.returncode == 0, done.stderr
    assert "httpx" in loaded
    assert server_modules(loaded) == []


def test_every_client_command_loads_no_server(tmp_path: Path, server: ServerProcess) -> None:
    cli = ["-m", "trainboard.cli"]
    done, loaded = loaded_by(
        tmp_path, server, [*cli, "run", "--name", "imports-run", "--system-interval", "0.05", "--", "true"]
    )
    assert done.returncode == 0, done.stderr
    assert "trainboard.sdk.monitor" in loaded  # the run was recorded in this process
    assert server_modules(loaded) == []
    assert server_modules(loaded, NOT_ON_THE_RUN_PATH) == []
    runs = httpx.get(f"{server.url}/api/runs", params={"limit": 1000}).json()["runs"]
    run_id = next(r["id"] for r in runs if r["name"] == "imports-run")
    for args in (["ls"], ["logs", run_id], ["export", run_id], ["sync", str(tmp_path / "client")]):
        done, loaded = loaded_by(tmp_path, server, [*cli, *args])
        assert done.returncode == 0, (args, done.stderr)
        assert server_modules(loaded) == [], args
