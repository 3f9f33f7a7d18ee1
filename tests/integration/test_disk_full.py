"""A full disk during ingest: the write is answered 507 with a JSON reason (never a plain-text 500), the server
keeps serving, writes succeed again once space is freed, everything acknowledged is stored and the database
passes SQLite's integrity check. The data directory is a small tmpfs (needs root to mount; skipped without)."""

from __future__ import annotations

import base64
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.servers import IN_CI, ServerProcess

CHUNK = 64 * 1024


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mnt = tmp_path / "small-disk"
    mnt.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(mnt)], capture_output=True)
    if mounted.returncode != 0:
        message = f"cannot mount a tmpfs: {mounted.stderr.decode(errors='replace').strip()}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_disk_full_is_507_then_recovers(small_disk: Path, tmp_path: Path) -> None:
    # the database on the small disk; the server's own log (kept in data_dir by ServerProcess) elsewhere
    data = small_disk / "data"
    server = ServerProcess(data_dir=tmp_path / "server", db_url=None, extra_args=["--data", str(data)]).start()
    stored = 0
    try:
        with server.client() as http:
            http.headers["X-Trainboard"] = "1"
            assert http.post("/api/runs", json={"id": "full"}).status_code == 201
            filler = small_disk / "filler"
            with open(filler, "wb") as f:  # leave about 1 MiB free
                free = subprocess.run(["df", "-B1", "--output=avail", str(small_disk)], capture_output=True, text=True)
                f.write(b"\0" * max(0, int(free.stdout.split()[-1]) - 1024 * 1024))
            payload = {"chunks": [{"source": "stdout", "data": base64.b64encode(b"x" * CHUNK).decode()}]}
            full = None
            for _ in range(200):
                resp = http.post("/api/runs/full/logs/raw", json=payload)
                if resp.status_code != 200:
                    full = resp
                    break
                stored = resp.json()["size"]
            assert full is not None, "the disk never filled"
            assert full.status_code == 507, (full.status_code, full.text)
            assert full.headers["content-type"].startswith("application/json")
            assert "disk is full" in full.json()["detail"]
            assert http.get("/health").status_code == 200
            assert http.get("/api/runs/full").json()["log_size"] == stored  # nothing half-stored

            filler.unlink()
            again = http.post("/api/runs/full/logs/raw", json=payload)
            assert again.status_code == 200, again.text
            assert again.json()["size"] == stored + CHUNK
            assert len(http.get("/api/runs/full/logs").content) == stored + CHUNK
    finally:
        server.stop()
    with sqlite3.connect(data / "trainboard.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
