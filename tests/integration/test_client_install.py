"""``pip install trainboard`` is the client alone, and it works against a dashboard elsewhere.

A fresh virtual environment gets this source tree installed the way a GPU pod would (no ``[server]``
extra, no Node.js: ``TRAINBOARD_SKIP_WEB_BUILD=1``). From it, an SDK script and ``trainboard run`` record
runs on a real ``trainboard serve`` started from the test environment; ``trainboard serve`` there says what
to install instead of failing with a traceback. pip installs from its configured indexes and its cache.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.support.servers import ServerProcess

REPO = Path(__file__).resolve().parents[2]
SERVER_PACKAGES = ("fastapi", "starlette", "sqlalchemy", "numpy", "alembic", "uvicorn", "redis", "psycopg", "tqdm")
CLIENT_PACKAGES = ("httpx", "psutil", "pynvml", "typer", "rich")


def client_env(**extra: str) -> dict[str, str]:
    """This process's environment without anything that points Python at the test environment."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    return env | extra


@pytest.fixture(scope="module")
def client_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtual environment holding ``pip install <this tree>`` and nothing else; its ``bin``."""
    venv = tmp_path_factory.mktemp("client") / "venv"
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", str(venv)], check=True, timeout=120)
    done = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(REPO)],
        capture_output=True,
        text=True,
        env=client_env(TRAINBOARD_SKIP_WEB_BUILD="1"),
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(f"pip install {REPO} failed:\n{done.stdout}\n{done.stderr}")
    return venv / "bin"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A dashboard from the test environment (the one with the ``[server]`` extra)."""
    proc = ServerProcess(data_dir=tmp_path_factory.mktemp("dashboard"), db_url=None).start()
    yield proc
    proc.stop()


def run_in(bin_dir: Path, *args: str, data: Path, url: str, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    env = client_env(TRAINBOARD_URL=url, TRAINBOARD_DATA=str(data), PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return subprocess.run(list(args), capture_output=True, env=env, cwd=cwd, timeout=180, check=False)


def run_named(server: ServerProcess, name: str) -> dict[str, object]:
    runs: list[dict[str, object]] = httpx.get(f"{server.url}/api/runs", params={"limit": 1000}).json()["runs"]
    matches = [r for r in runs if r["name"] == name]
    assert len(matches) == 1, runs
    return matches[0]


def test_the_client_installs_alone(client_venv: Path, tmp_path: Path) -> None:
    check = (
        "import importlib.util as u, json; "
        f"print(json.dumps({{m: u.find_spec(m) is not None for m in {SERVER_PACKAGES + CLIENT_PACKAGES!r}}}))"
    )
    done = subprocess.run(
        [str(client_venv / "python"), "-c", check], capture_output=True, text=True, env=client_env(), cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    found: dict[str, bool] = __import__("json").loads(done.stdout)
    assert [m for m in SERVER_PACKAGES if found[m]] == []  # none of the dashboard's dependencies came along
    assert all(found[m] for m in CLIENT_PACKAGES), found
    assert (client_venv / "trainboard").exists()


def test_sdk_script_from_the_client_env_reaches_the_dashboard(
    client_venv: Path, server: ServerProcess, tmp_path: Path
) -> None:
    script = tmp_path / "train.py"
    script.write_text(
        textwrap.dedent(
            """
            from trainboard import TrainingMonitor

            with TrainingMonitor(run_name="client-only-sdk", config={"lr": 0.1}, system_metrics=False) as m:
                for step in range(5):
                    m.log_metrics({"loss": 1.0 / (step + 1), "big": 2**53 - step}, step=step)
                print("trained", flush=True)
            """
        )
    )
    done = run_in(client_venv, "python", str(script), data=tmp_path / "spool", url=server.url, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == b"trained\n"
    run = run_named(server, "client-only-sdk")
    assert run["status"] == "completed"
    metrics = httpx.get(f"{server.url}/api/runs/{run['id']}/metrics").json()["metrics"]
    assert metrics["loss"]["step"] == [0, 1, 2, 3, 4]
    assert metrics["loss"]["value"] == [1.0, 0.5, 1 / 3, 0.25, 0.2]
    assert metrics["big"]["value"] == [float(2**53 - s) for s in range(5)]
    out = httpx.get(f"{server.url}/api/runs/{run['id']}/logs", params={"source": "stdout"}).content
    assert out == b"trained\n"


def test_trainboard_run_from_the_client_env_records_the_raw_bytes(
    client_venv: Path, server: ServerProcess, tmp_path: Path
) -> None:
    child = "import sys; sys.stdout.buffer.write(b'\\x1b[32mgreen\\x1b[0m \\xff\\n'); print('oops', file=sys.stderr)"
    done = run_in(
        client_venv,
        "trainboard", "run", "--name", "client-only-run", "--system-interval", "0.2", "--",
        "python", "-c", child + "; sys.exit(3)",
        data=tmp_path / "spool",
        url=server.url,
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 3, done.stderr
    assert done.stdout == b"\x1b[32mgreen\x1b[0m \xff\r\n"  # mirrored as the pseudo-terminal gave it
    run = run_named(server, "client-only-run")
    assert run["status"] == "failed" and run["exit_code"] == 3
    logs = f"{server.url}/api/runs/{run['id']}/logs"
    assert httpx.get(logs, params={"source": "stdout"}).content == done.stdout
    assert httpx.get(logs, params={"source": "stderr"}).content == b"oops\r\n" == done.stderr


def test_serve_in_the_client_env_names_the_server_extra(client_venv: Path, tmp_path: Path) -> None:
    for command in (["serve"], ["demo", "--once"], ["db", "upgrade"]):
        env = client_env(TRAINBOARD_DATA=str(tmp_path / "data"))
        done = subprocess.run(
            [str(client_venv / "trainboard"), *command], capture_output=True, text=True, env=env, timeout=60
        )
        assert done.returncode == 1, (command, done.stdout, done.stderr)
        name = " ".join(command[:2] if command[0] == "db" else command[:1])
        assert f"trainboard {name} needs the dashboard: pip install 'trainboard[server]'" in done.stderr
        assert "Traceback" not in done.stderr + done.stdout
    assert shutil.which("trainboard", path=str(client_venv))  # the console script is what ran
