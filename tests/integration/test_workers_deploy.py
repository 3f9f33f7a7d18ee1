"""The shipped deployment files, checked as shipped: the nginx site (``nginx -t`` on Debian's nginx), the
systemd unit (``systemd-analyze verify``) and the logrotate configuration (``logrotate -d``, then a real
rotation under a running server writing its JSON log: no line lost, none written twice)."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

from tests.support.scale import DEPLOY, nginx_prefix, tool
from tests.support.servers import ServerProcess


def test_the_shipped_nginx_site_passes_nginx_t(tmp_path: Path) -> None:
    nginx = tool("nginx")
    root = tmp_path / "nginx"
    conf = nginx_prefix(root, "    include sites/trainboard.conf;")
    (root / "sites").mkdir()
    shutil.copy(DEPLOY / "nginx" / "trainboard.conf", root / "sites" / "trainboard.conf")
    (root / "trainboard").mkdir()
    key, cert = root / "trainboard" / "tls.key", root / "trainboard" / "tls.crt"
    openssl = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=dash.test"]
    subprocess.run([*openssl, "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    result = subprocess.run([nginx, "-t", "-p", str(root), "-c", str(conf)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "syntax is ok" in result.stderr and "test is successful" in result.stderr
    # the check can fail: a typo in the shipped proxy snippet is caught
    (root / "snippets" / "trainboard-proxy.conf").write_text("proxy_buffering of;\n")
    broken = subprocess.run([nginx, "-t", "-p", str(root), "-c", str(conf)], capture_output=True, text=True)
    assert broken.returncode != 0


def _unit_problems(analyze: str, folder: Path) -> list[str]:
    result = subprocess.run(
        [analyze, "verify", str(folder / "trainboard@8001.service")], capture_output=True, text=True, cwd=folder
    )
    return [
        line
        for line in (result.stdout + result.stderr).splitlines()
        # the install location (/opt/trainboard, see the unit's header) does not exist on a test machine
        if line.strip() and "/opt/trainboard/bin/trainboard is not executable" not in line
    ]


def test_the_systemd_unit_verifies(tmp_path: Path) -> None:
    analyze = tool("systemd-analyze")
    text = (DEPLOY / "systemd" / "trainboard@.service").read_text()
    (tmp_path / "trainboard@.service").write_text(text)
    assert _unit_problems(analyze, tmp_path) == []
    assert "--port %i" in text and "--log-format json" in text
    # the check can fail: a wrong value is reported
    (tmp_path / "trainboard@.service").write_text(text.replace("Restart=always", "Restart=sometimes"))
    assert any("restart" in line.lower() for line in _unit_problems(analyze, tmp_path))


def test_logrotate_rotates_the_json_log_of_a_running_server_without_losing_a_line(tmp_path: Path) -> None:
    logrotate = tool("logrotate")
    shipped = DEPLOY / "logrotate" / "trainboard"
    state0 = str(tmp_path / "state0")
    check = subprocess.run([logrotate, "-d", "-s", state0, str(shipped)], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    assert "error" not in check.stderr.lower()

    logs = tmp_path / "log"
    logs.mkdir(mode=0o755)
    conf = tmp_path / "logrotate.conf"
    conf.write_text(shipped.read_text().replace("/var/log/trainboard/", f"{logs}/"))
    log_file = logs / "server.log"
    server = ServerProcess(tmp_path / "data", None, extra_args=["--log-format", "json", "--log-file", str(log_file)])
    server.start()
    try:
        with server.client() as c:
            for i in range(5):
                assert c.get(f"/api/runs?limit={i + 1}").status_code == 200
            time.sleep(0.3)
            rotated = subprocess.run(
                [logrotate, "-f", "-s", str(tmp_path / "state"), str(conf)], capture_output=True, text=True
            )
            assert rotated.returncode == 0, rotated.stderr
            for i in range(5, 10):
                assert c.get(f"/api/runs?limit={i + 1}").status_code == 200
            time.sleep(0.3)
    finally:
        server.stop()
    old = [p for p in logs.iterdir() if p.name.startswith("server.log-")]
    assert len(old) == 1  # moved aside (compressed at the next rotation: delaycompress)
    limits: list[str] = []
    for path in (old[0], log_file):
        for line in path.read_text().splitlines():
            event = json.loads(line)
            if event.get("logger") == "trainboard.access" and event["path"] == "/api/runs":
                limits.append(event["path"] + str(event["status"]))
    assert len(limits) == 10  # each request once, across the old and the new file
    assert log_file.stat().st_size > 0 and old[0].stat().st_size > 0
