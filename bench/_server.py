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


@contextmanager
def running_server(db: str | None = None, extra_args: tuple[str, ...] = ()) -> Iterator[tuple[str, Path]]:
    """Yields (url, data_dir) of a fresh server process (``extra_args`` go to ``trainboard serve``)."""
    with tempfile.TemporaryDirectory(prefix="tb-bench-") as tmp:
        data = Path(tmp)
        port = free_port()
        args = [sys.executable, "-m", "trainboard.cli", "serve", "--port", str(port), "--data", str(data)]
        if db:
            args += ["--db", db]
        args += list(extra_args)
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=dict(os.environ))
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(300):
                try:
                    if httpx.get(url + "/health", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.05)
            yield url, data
        finally:
            proc.terminate()
            proc.wait(10)
