"""Issue 21, item 4: ``trainboard serve`` off loopback. ``--no-auth --allow-launch`` is refused, ``--no-auth`` alone
warns naming the real bind address, every refusal comes before "serving on", and the Host check (DNS rebinding)
holds on a ``0.0.0.0`` bind too."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
from tests.support.auth import seed
from tests.support.servers import API_HEADERS, ServerProcess, free_port


def _serve(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TRAINBOARD_DATA": str(tmp_path / "data")}
    argv = [sys.executable, "-m", "trainboard.cli", "serve", "--port", str(free_port()), *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env, stdin=subprocess.DEVNULL)


def test_no_auth_with_allow_launch_off_loopback_is_refused_before_serving(tmp_path: Path) -> None:
    (tmp_path / "root").mkdir()
    done = _serve(tmp_path, "--host", "0.0.0.0", "--no-auth", "--allow-launch", "--launch-root", str(tmp_path / "root"))
    assert done.returncode == 1, done.stderr
    assert "--no-auth with --allow-launch on http://0.0.0.0:" in done.stderr
    assert "serving on" not in done.stderr + done.stdout
    assert "Traceback" not in done.stderr


def test_a_bind_without_users_is_refused_before_serving(tmp_path: Path) -> None:
    done = _serve(tmp_path, "--host", "0.0.0.0")
    assert done.returncode == 1 and "no users yet" in done.stderr
    assert "serving on" not in done.stderr + done.stdout


def test_no_auth_on_loopback_with_launch_serves_and_says_so(tmp_path: Path) -> None:
    (tmp_path / "root").mkdir()
    args = ["--no-auth", "--allow-launch", "--launch-root", str(tmp_path / "root")]
    server = ServerProcess(data_dir=tmp_path / "data", db_url=None, extra_args=args).start()
    try:  # a DNS-rebinding page cannot launch through it: its Host is not one of the loopback names
        body = {"provider": "local", "argv": [sys.executable, "-c", "open('pwned', 'w')"]}
        rebound = {**API_HEADERS, "Host": f"evil.example:{server.port}"}
        refused = httpx.post(f"{server.url}/api/launch", json=body, headers=rebound, timeout=30)
        assert refused.status_code == 400 and "DNS rebinding" in refused.json()["detail"]
        assert httpx.get(f"{server.url}/api/runs", timeout=30).json()["runs"] == []
    finally:
        server.stop()
    assert not (tmp_path / "root" / "pwned").exists()
    assert server.log_path is not None
    log = server.log_path.read_text()
    assert f"reach http://127.0.0.1:{server.port} can read" in log and "launch commands on this machine" in log


def test_no_auth_off_loopback_warns_with_the_bind_address_and_checks_the_host(tmp_path: Path) -> None:
    server = ServerProcess(data_dir=tmp_path / "data", db_url=None, extra_args=["--host", "0.0.0.0", "--no-auth"])
    server.start()
    try:
        with httpx.Client(base_url=server.url, timeout=30, headers=API_HEADERS) as c:
            assert c.get("/api/runs").status_code == 200  # Host: 127.0.0.1:PORT, one of this machine's names
            # a DNS-rebinding page: its own name in Host, this machine's address underneath
            rebound = {"Host": f"evil.example:{server.port}", "Origin": f"http://evil.example:{server.port}"}
            for resp in (
                c.get("/api/runs", headers=rebound),
                c.post("/api/runs", json={"id": "rebound"}, headers=rebound),
                c.get("/", headers={"Host": "evil.example"}),
            ):
                assert resp.status_code == 400 and "DNS rebinding" in resp.json()["detail"], resp.text
            assert c.get("/api/runs/rebound").status_code == 404
    finally:
        server.stop()
    assert server.log_path is not None
    log = server.log_path.read_text()
    assert f"reach http://0.0.0.0:{server.port} (every interface) can read" in log
    assert log.index("serving on") < log.index("WARNING: --no-auth")


def test_allowed_host_names_the_servers_public_name(tmp_path: Path) -> None:
    seeded = seed(tmp_path / "data")
    names = ("dash.example.org", "*.lab.example", "127.0.0.1")  # the last for the test's own /health probe
    extra = ["--host", "0.0.0.0", *(a for name in names for a in ("--allowed-host", name))]
    server = ServerProcess(data_dir=tmp_path / "data", db_url=None, extra_args=extra).start()
    try:
        with httpx.Client(base_url=server.url, timeout=30, headers=seeded.headers("vic")) as c:
            assert c.get("/api/runs", headers={"Host": "dash.example.org"}).status_code == 200
            assert c.get("/api/runs", headers={"Host": "gpu1.lab.example:8000"}).status_code == 200
            assert c.get("/api/runs", headers={"Host": "evil.example"}).status_code == 400
            assert c.get("/api/runs", headers={"Host": "lab.example.evil"}).status_code == 400
            assert c.get("/api/runs", headers={"Host": f"localhost:{server.port}"}).status_code == 400  # not named
    finally:
        server.stop()
