"""TLS round trip: ``trainboard serve --ssl-certfile/--ssl-keyfile`` with a certificate made in the test (by a CA
made in the test, with ``openssl``); the SDK logs through HTTPS when given the CA (``TRAINBOARD_CA_BUNDLE`` or
``SSL_CERT_FILE``) and refuses the unknown certificate with one clear line; so does the CLI."""

from __future__ import annotations

import os
import shutil
import socket
import ssl
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from tests.support.servers import free_port

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")

HOST = "127.0.0.1"


@dataclass
class Pki:
    ca: Path
    cert: Path
    key: Path


def _trust(ca: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(ca))


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    """A private CA and a server certificate it signed for 127.0.0.1 / localhost."""
    d = tmp_path / "pki"
    d.mkdir()
    _openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=trainboard test CA",
        "-keyout", "ca.key", "-out", "ca.pem",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        cwd=d,
    )  # fmt: skip
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={HOST}", "-keyout", "server.key",
             "-out", "server.csr", cwd=d)  # fmt: skip
    (d / "ext.cnf").write_text(
        "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
        f"extendedKeyUsage=serverAuth\nsubjectAltName=IP:{HOST},DNS:localhost\n"
    )
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
             "-days", "2", "-out", "server.pem", "-extfile", "ext.cnf", cwd=d)  # fmt: skip
    return Pki(ca=d / "ca.pem", cert=d / "server.pem", key=d / "server.key")


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("TRAINBOARD_") and k not in ("SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE")
    }
    env.update(
        TRAINBOARD_CONFIG_DIR=str(tmp_path / "config"), TRAINBOARD_DATA=str(tmp_path / "client"), PYTHONUNBUFFERED="1"
    )
    env.update(extra)
    return env


@pytest.fixture
def https_url(tmp_path: Path, pki: Pki) -> Iterator[str]:
    """A real ``trainboard serve`` over HTTPS on loopback (no users: no login needed)."""
    port = free_port()
    log = tmp_path / "serve.log"
    argv = [sys.executable, "-m", "trainboard.cli", "serve", "--port", str(port), "--data", str(tmp_path / "data")]
    argv += ["--ssl-certfile", str(pki.cert), "--ssl-keyfile", str(pki.key)]
    with open(log, "wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=_env(tmp_path))
    url = f"https://{HOST}:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, log.read_text()
            try:
                if httpx.get(url + "/health", verify=_trust(pki.ca), timeout=1.0).status_code == 200:
                    break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
            time.sleep(0.1)
        assert f"serving on https://{HOST}:{port}" in log.read_text()
        yield url
    finally:
        proc.terminate()
        proc.wait(15)


_TRAIN = textwrap.dedent(
    """\
    import sys
    import trainboard
    run = trainboard.init("tls", dashboard_url=sys.argv[1], flush_timeout=3, capture_output=False,
                          system_metrics=False)
    for step in range(10):
        run.log_metrics({"loss": 1.0 / (step + 1)}, step=step)
    print("run", run.run_id)
    run.finish()
    """
)


def _train(tmp_path: Path, url: str, **env: str) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "train.py"
    script.write_text(_TRAIN)
    return subprocess.run(
        [sys.executable, str(script), url], capture_output=True, text=True, timeout=120, env=_env(tmp_path, **env)
    )


def _steps(url: str, ca: Path, run_id: str) -> list[int]:
    with httpx.Client(base_url=url, verify=_trust(ca)) as c:
        resp = c.get(f"/api/runs/{run_id}/metrics")
        if resp.status_code == 404:
            return []
        steps: list[int] = resp.json()["metrics"]["loss"]["step"]
        return steps


def test_the_sdk_logs_over_https_with_the_ca_bundle(tmp_path: Path, pki: Pki, https_url: str) -> None:
    done = _train(tmp_path, https_url, TRAINBOARD_CA_BUNDLE=str(pki.ca))
    assert done.returncode == 0, done.stderr
    assert "certificate" not in done.stderr and "cannot reach" not in done.stderr
    assert _steps(https_url, pki.ca, done.stdout.split()[-1]) == list(range(10))
    with httpx.Client(base_url=https_url, verify=_trust(pki.ca)) as c:
        assert c.get(f"/api/runs/{done.stdout.split()[-1]}").json()["status"] == "completed"


def test_ssl_cert_file_works_too_for_the_sdk_and_the_cli(tmp_path: Path, pki: Pki, https_url: str) -> None:
    done = _train(tmp_path, https_url, SSL_CERT_FILE=str(pki.ca))
    assert done.returncode == 0, done.stderr
    assert _steps(https_url, pki.ca, done.stdout.split()[-1]) == list(range(10))
    listed = subprocess.run(
        [sys.executable, "-m", "trainboard.cli", "ls", "--url", https_url, "--wide"],
        capture_output=True,
        text=True,
        timeout=60,
        env=_env(tmp_path, SSL_CERT_FILE=str(pki.ca), COLUMNS="200"),
    )
    assert listed.returncode == 0, listed.stderr
    assert done.stdout.split()[-1] in listed.stdout


def test_an_unknown_certificate_is_refused_with_one_clear_line(tmp_path: Path, pki: Pki, https_url: str) -> None:
    message = f"certificate verify failed for {https_url}: set TRAINBOARD_CA_BUNDLE to your CA file"
    done = _train(tmp_path, https_url)
    assert done.returncode == 0  # training goes on; the data stays spooled
    assert done.stderr.count(message) == 1, done.stderr
    assert "Traceback" not in done.stderr
    run_id = done.stdout.split()[-1]
    assert _steps(https_url, pki.ca, run_id) == []

    cli = [sys.executable, "-m", "trainboard.cli"]
    listed = subprocess.run([*cli, "ls", "--url", https_url], capture_output=True, text=True, timeout=60,
                            env=_env(tmp_path))  # fmt: skip
    assert listed.returncode == 1
    assert message in listed.stderr and "Traceback" not in listed.stderr

    synced = subprocess.run([*cli, "sync", "--url", https_url], capture_output=True, text=True, timeout=60,
                            env=_env(tmp_path))  # fmt: skip
    assert synced.returncode == 1 and message in synced.stderr
    synced = subprocess.run([*cli, "sync", "--url", https_url], capture_output=True, text=True, timeout=60,
                            env=_env(tmp_path, TRAINBOARD_CA_BUNDLE=str(pki.ca)))  # fmt: skip
    assert synced.returncode == 0, synced.stderr
    assert _steps(https_url, pki.ca, run_id) == list(range(10))


def test_a_missing_ca_bundle_is_named(tmp_path: Path, https_url: str) -> None:
    listed = subprocess.run(
        [sys.executable, "-m", "trainboard.cli", "ls", "--url", https_url],
        capture_output=True,
        text=True,
        timeout=60,
        env=_env(tmp_path, TRAINBOARD_CA_BUNDLE=str(tmp_path / "nope.pem")),
    )
    assert listed.returncode == 1
    assert f"TRAINBOARD_CA_BUNDLE={tmp_path / 'nope.pem'}: not a readable CA file" in listed.stderr
    assert "Traceback" not in listed.stderr


class _ConnectProxy:
    """A minimal HTTP CONNECT proxy on loopback that records the tunnels it opens (to prove HTTPS_PROXY is used)."""

    def __init__(self) -> None:

        self.tunnels: list[str] = []
        self._server = socket.create_server((HOST, 0))
        self.url = f"http://{HOST}:{self._server.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            threading.Thread(target=self._tunnel, args=(client,), daemon=True).start()

    def _tunnel(self, client: socket.socket) -> None:
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = client.recv(4096)
            if not chunk:
                client.close()
                return
            head += chunk
        method, target = head.split(b" ", 2)[:2]
        host, _, port = target.decode().rpartition(":")
        if method != b"CONNECT" or host != HOST:  # only loopback targets, never anywhere else
            client.sendall(b"HTTP/1.1 403 Forbidden\r\n\r\n")
            client.close()
            return
        self.tunnels.append(target.decode())
        upstream = socket.create_connection((host, int(port)))
        client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")

        def pipe(src: socket.socket, dst: socket.socket) -> None:
            try:
                while data := src.recv(65536):
                    dst.sendall(data)
            except OSError:
                pass
            finally:
                dst.close()

        threading.Thread(target=pipe, args=(upstream, client), daemon=True).start()
        pipe(client, upstream)

    def close(self) -> None:
        self._server.close()


def test_the_sdk_goes_through_https_proxy(tmp_path: Path, pki: Pki, https_url: str) -> None:
    proxy = _ConnectProxy()
    try:
        done = _train(
            tmp_path, https_url, TRAINBOARD_CA_BUNDLE=str(pki.ca), HTTPS_PROXY=proxy.url, NO_PROXY="", no_proxy=""
        )
    finally:
        proxy.close()
    assert done.returncode == 0, done.stderr
    assert proxy.tunnels and set(proxy.tunnels) == {https_url.removeprefix("https://")}
    assert _steps(https_url, pki.ca, done.stdout.split()[-1]) == list(range(10))
