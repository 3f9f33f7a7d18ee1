"""A private Redis, a fresh PostgreSQL database and ``trainboard serve --workers N`` on them, for the scale
benchmarks (never the shared Redis: its other users would receive the benchmark's fan-out)."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import psutil

from _server import free_port

PG_ADMIN = os.environ.get("TRAINBOARD_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


@contextmanager
def private_redis() -> Iterator[str]:
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="tb-bench-redis-") as tmp:
        exe = shutil.which("redis-server") or "redis-server"
        args = [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        proc = subprocess.Popen(args, cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            time.sleep(0.5)
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            proc.terminate()
            proc.wait(10)


@contextmanager
def postgres() -> Iterator[str]:
    import psycopg

    name = "tb_bench_" + secrets.token_hex(4)
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def cluster(workers: int, *extra: str) -> Iterator[tuple[str, psutil.Process]]:
    """Yields (url, supervisor process) of ``serve --workers N`` on PostgreSQL + a private Redis."""
    with private_redis() as redis, postgres() as db, tempfile.TemporaryDirectory(prefix="tb-bench-") as tmp:
        port = free_port()
        args = [sys.executable, "-m", "trainboard.cli", "serve", "--port", str(port), "--data", tmp, "--db", db]
        args += ["--redis", redis, "--workers", str(workers), "--max-streams", "100000"]
        args += ["--max-streams-per-client", "100000", *extra]
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                try:
                    if httpx.get(url + "/health", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.2)
            parent = psutil.Process(proc.pid)
            while workers > 1 and len(parent.children()) < workers and time.monotonic() < deadline:
                time.sleep(0.2)
            time.sleep(1.0)
            yield url, parent
        finally:
            proc.terminate()
            proc.wait(30)


def server_processes(parent: psutil.Process) -> list[psutil.Process]:
    """The processes that serve: the workers, or the one server."""
    return parent.children() or [parent]


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]
