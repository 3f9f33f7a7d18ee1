"""Start a real ``trainboard serve`` in a temporary data directory for a benchmark."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


CLI = (sys.executable, "-m", "trainboard.cli")


@contextmanager
def served(
    program: tuple[str, ...], data: Path, *args: str, wait: float = 30.0, env: dict[str, str] | None = None
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """(URL, process) of ``program serve --port P --data DATA ARGS`` once it answers /health (``env``: the
    server's environment, e.g. a ``PYTHONPATH`` that picks another revision's code); stopped at the end."""
    port = free_port()
    argv = [*program, "serve", "--port", str(port), "--data", str(data), *args]
    proc = subprocess.Popen(
        argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=dict(os.environ) if env is None else env
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            try:
                if httpx.get(url + "/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.05)
        yield url, proc
    finally:
        proc.terminate()
        proc.wait(20)


@contextmanager
def serve_process(program: tuple[str, ...], data: Path, *args: str, wait: float = 30.0) -> Iterator[str]:
    """Yields the URL of ``program serve --port P --data DATA ARGS`` (``program``: the CLI, or a script that
    patches the store before running it) once it answers /health; stopped at the end."""
    with served(program, data, *args, wait=wait) as (url, _proc):
        yield url


@contextmanager
def running_server(db: str | None = None, extra_args: tuple[str, ...] = ()) -> Iterator[tuple[str, Path]]:
    """Yields (url, data_dir) of a fresh server process (``extra_args`` go to ``trainboard serve``)."""
    with tempfile.TemporaryDirectory(prefix="tb-bench-") as tmp:
        data = Path(tmp)
        with serve_process(CLI, data, *(["--db", db] if db else []), *extra_args) as url:
            yield url, data


@contextmanager
def revision_src(rev: str) -> Iterator[Path]:
    """The ``src`` folder of git revision ``rev`` of this checkout, exported to a temporary folder."""
    root = Path(__file__).resolve().parent.parent
    with tempfile.TemporaryDirectory(prefix="tb-rev-") as tmp:
        archive = subprocess.run(["git", "-C", str(root), "archive", rev, "src"], capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", tmp], input=archive.stdout, check=True)
        yield Path(tmp) / "src"


def env_with_code(src: Path) -> dict[str, str]:
    """This environment with ``src`` first on ``PYTHONPATH`` (a process started with it imports that code)."""
    return dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (str(src), os.environ.get("PYTHONPATH")) if p))
