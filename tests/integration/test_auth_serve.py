"""``trainboard serve`` and authentication: the local default stays open, a non-loopback bind without users is
refused, ``--no-auth`` warns; the UI's pages carry a Content-Security-Policy without inline script."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from tests.support.servers import ServerProcess, free_port


def _serve(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TRAINBOARD_DATA": str(tmp_path / "data")}
    argv = [sys.executable, "-m", "trainboard.cli", "serve", "--port", str(free_port()), *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env)


def test_loopback_without_users_needs_no_login(tmp_path: Path) -> None:
    server = ServerProcess(data_dir=tmp_path / "data", db_url=None).start()
    try:
        with server.client() as c:
            assert c.get("/api/auth/me").json() == {"auth": False, "user": None, "via": "none", "can_launch": True}
            assert c.post("/api/runs", json={"id": "local"}).status_code == 201
            assert c.delete("/api/runs/local").status_code == 200
            first = c.post("/api/users", json={"name": "x", "role": "admin", "password": "p"})
            assert first.status_code == 409 and "trainboard user add" in first.json()["detail"]
            assert c.get("/api/auth/me").json()["auth"] is False  # still open: the first user comes from the CLI
        assert server.log_path is not None and "login?code=" not in server.log_path.read_text()
    finally:
        server.stop()


def test_a_non_loopback_bind_without_users_is_refused(tmp_path: Path) -> None:
    result = _serve(tmp_path, "--host", "0.0.0.0")
    assert result.returncode == 1
    assert "no users yet: create an admin first: trainboard user add NAME --role admin" in result.stderr
    assert "Traceback" not in result.stderr


def test_no_auth_warns_and_serves(tmp_path: Path) -> None:
    probe = subprocess.run(
        [sys.executable, "-m", "trainboard.cli", "serve", "--help"], capture_output=True, text=True, timeout=60
    )
    if "--no-auth" not in probe.stdout:
        pytest.fail("trainboard serve has no --no-auth flag (the CLI part of issue 12)")
    server = ServerProcess(data_dir=tmp_path / "data", db_url=None, extra_args=["--host", "0.0.0.0", "--no-auth"])
    server.start()
    try:
        with server.client() as c:  # traffic only to 127.0.0.1, which a 0.0.0.0 bind answers
            assert c.get("/api/auth/me").json()["auth"] is False
    finally:
        server.stop()
    assert server.log_path is not None
    assert re.search(r"WARNING: --no-auth: authentication is off", server.log_path.read_text())


def test_ui_pages_forbid_inline_script(tmp_path: Path) -> None:
    server = ServerProcess(data_dir=tmp_path / "data", db_url=None).start()
    try:
        for path in ("/", "/runs/some-run", "/login"):
            r = httpx.get(server.url + path)
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
            policy = r.headers["content-security-policy"]
            scripts = re.search(r"script-src ([^;]*)", policy)
            assert scripts is not None and "'unsafe-inline'" not in scripts.group(1), policy
            assert "frame-ancestors 'none'" in policy
            inline = [s for s in re.findall(r"<script\b([^>]*)>", r.text) if "src=" not in s]
            assert inline == [], r.text[:2000]
    finally:
        server.stop()
