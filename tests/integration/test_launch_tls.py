"""A local launch against ``trainboard serve`` over HTTPS with a private CA: the job is given the CA by the server
(``TRAINBOARD_CA_BUNDLE``, which a launch request may not set), so it uploads its output and metrics.

The CA comes from ``ca_bundle`` in providers.toml, or, without one, from the server's ``--ssl-certfile`` when
that file carries the chain up to the root. Without either (a leaf certificate alone), the job cannot verify
the server, and the run says so instead of hanging."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from tests.integration.test_tls import HOST, Pki, _trust, pki  # noqa: F401 - the pki fixture
from tests.support.launch import TRAIN, wait_for
from tests.support.servers import API_HEADERS, free_port


@contextmanager
def _serve(tmp_path: Path, ca: Pki, certfile: Path, providers: str | None) -> Iterator[httpx.Client]:
    data, root = tmp_path / "data", tmp_path / "root"
    data.mkdir()
    root.mkdir()
    (root / "train.py").write_text(TRAIN)
    if providers is not None:
        (data / "providers.toml").write_text(providers)
    port = free_port()
    argv = [sys.executable, "-m", "trainboard.cli", "serve", "--port", str(port), "--data", str(data)]
    argv += ["--ssl-certfile", str(certfile), "--ssl-keyfile", str(ca.key)]
    argv += ["--allow-launch", "--launch-root", str(root)]
    # the server's environment names no CA: what the job trusts comes from the server's own settings
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("TRAINBOARD_") and k not in ("SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE")
    }
    env["TRAINBOARD_CONFIG_DIR"] = str(tmp_path / "config")
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env)
    url = f"https://{HOST}:{port}"
    client = httpx.Client(base_url=url, verify=_trust(ca.ca), timeout=30, headers=API_HEADERS)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, log.read_text()
            try:
                if client.get("/health", timeout=1.0).status_code == 200:
                    break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
            time.sleep(0.1)
        yield client
    finally:
        client.close()
        proc.terminate()
        proc.wait(15)


def _launch_and_end(http: httpx.Client) -> dict[str, object]:
    resp = http.post("/api/launch", json={"provider": "local", "argv": [sys.executable, "train.py", "5"]})
    assert resp.status_code == 201, resp.text
    run_id = str(resp.json()["id"])

    def over() -> dict[str, object] | None:
        run: dict[str, object] = http.get(f"/api/runs/{run_id}").json()
        return run if run["status"] in ("completed", "failed", "interrupted") else None

    run: dict[str, object] = wait_for(f"run {run_id} to end", over, 90)
    return run


@pytest.mark.parametrize("where", ["providers.toml", "the certificate chain"])
def test_a_local_job_verifies_a_private_ca_server_and_uploads(tmp_path: Path, pki: Pki, where: str) -> None:  # noqa: F811
    if where == "providers.toml":
        certfile, providers = pki.cert, f'ca_bundle = "{pki.ca}"\n'
    else:  # the certificate file carries its chain, root included: nothing to configure
        certfile = tmp_path / "chain.pem"
        certfile.write_bytes(pki.cert.read_bytes() + pki.ca.read_bytes())
        providers = None
    with _serve(tmp_path, pki, certfile, providers) as http:
        run = _launch_and_end(http)
        run_id = run["id"]
        native = http.get(f"/api/runs/{run_id}/launch/logs").content
        assert (run["status"], run["exit_code"]) == ("completed", 0), native
        logs = http.get(f"/api/runs/{run_id}/logs").content
        assert all(f"step {i}".encode() in logs for i in range(5))
        steps = http.get(f"/api/runs/{run_id}/metrics").json()["metrics"]["loss"]["step"]
        assert steps == [0, 1, 2, 3, 4]
        assert b"certificate" not in native


def test_without_the_root_the_job_cannot_verify_and_the_run_says_so(tmp_path: Path, pki: Pki) -> None:  # noqa: F811
    """The counter-case that shows the tests above depend on the CA reaching the job: a leaf certificate alone
    gives the job nothing to verify it with."""
    with _serve(tmp_path, pki, pki.cert, None) as http:
        run = _launch_and_end(http)
        run_id = run["id"]
        native = http.get(f"/api/runs/{run_id}/launch/logs").content
        assert b"certificate verify failed" in native, native
        assert b"step 4" not in http.get(f"/api/runs/{run_id}/logs").content
        messages = " ".join(e["message"] for e in http.get(f"/api/runs/{run_id}/events").json()["events"])
        assert "is not uploaded" in messages, messages
