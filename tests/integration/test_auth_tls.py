"""Auth over TLS: the session cookie is ``Secure`` and every answer carries ``Strict-Transport-Security``; over
plain HTTP neither (a browser would ignore HSTS there, and a Secure cookie would never come back)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from tests.integration.test_tls import Pki, _trust, https_url, pki  # noqa: F401 - fixtures
from tests.support.auth import PASSWORDS, Seeded, seed
from tests.support.servers import API_HEADERS, ServerProcess


@pytest.fixture
def seeded(tmp_path: Path) -> Seeded:
    return seed(tmp_path / "data")  # the data dir https_url serves


def test_over_tls_the_cookie_is_secure_and_hsts_is_sent(seeded: Seeded, pki: Pki, https_url: str) -> None:  # noqa: F811
    with httpx.Client(base_url=https_url, verify=_trust(pki.ca), headers=API_HEADERS) as c:
        r = c.post("/api/auth/login", json={"username": "vic", "password": PASSWORDS["vic"]})
        assert r.status_code == 200
        flags = {f.strip().lower() for f in r.headers["set-cookie"].split(";")}
        assert {"secure", "httponly", "samesite=strict"} <= flags
        for path in ("/api/runs", "/health", "/"):
            assert c.get(path).headers["strict-transport-security"] == "max-age=31536000"
        assert c.get("/api/users").headers["strict-transport-security"] == "max-age=31536000"  # a 403 too


def test_plain_http_sends_no_hsts(tmp_path: Path) -> None:
    server = ServerProcess(data_dir=tmp_path / "data", db_url=None).start()
    try:
        assert "strict-transport-security" not in httpx.get(server.url + "/health").headers
    finally:
        server.stop()


@pytest.mark.parametrize("trusted", [True, False])
def test_behind_a_tls_terminating_proxy_on_loopback_the_cookie_is_secure(tmp_path: Path, trusted: bool) -> None:
    """nginx terminates TLS and sets ``X-Forwarded-Proto: https`` (deploy/nginx): the server, trusting forwarded
    headers from the proxies named with ``--forwarded-allow-ips`` only, treats the request as HTTPS: Secure cookie
    and HSTS, like direct TLS. Without that option a loopback peer's header is ignored (issue 21)."""
    seed(tmp_path / "data")
    extra = ["--forwarded-allow-ips", "127.0.0.1"] if trusted else []
    server = ServerProcess(data_dir=tmp_path / "data", db_url=None, extra_args=extra).start()
    login = {"username": "vic", "password": PASSWORDS["vic"]}
    try:
        proxied = httpx.post(
            server.url + "/api/auth/login", json=login, headers={**API_HEADERS, "X-Forwarded-Proto": "https"}
        )
        plain = httpx.post(server.url + "/api/auth/login", json=login, headers=API_HEADERS)
    finally:
        server.stop()
    assert proxied.status_code == plain.status_code == 200
    if not trusted:
        assert "secure" not in {f.strip().lower() for f in proxied.headers["set-cookie"].split(";")}
        assert "strict-transport-security" not in proxied.headers
        return
    assert "secure" in {f.strip().lower() for f in proxied.headers["set-cookie"].split(";")}
    assert proxied.headers["strict-transport-security"] == "max-age=31536000"
    assert "secure" not in {f.strip().lower() for f in plain.headers["set-cookie"].split(";")}
