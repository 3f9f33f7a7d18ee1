"""Issue 21, item 1: ``X-Forwarded-For`` is the client's word unless the TCP peer is a trusted proxy.

A local process (peer 127.0.0.1) forging ``X-Forwarded-For: <the auth proxy's address>`` must not become any user,
and rotating the header must not escape the per-address login limit. From a trusted proxy the forwarded address
is the client's (audit log, login limit). On SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import httpx
from tests.support.auth import PASSWORDS, SettingsServer, seed
from tests.support.servers import API_HEADERS


def _server(tmp_path: Path, db_url: str | None, **settings: object) -> SettingsServer:
    return SettingsServer(data_dir=tmp_path / "data", db_url=db_url, settings=dict(settings)).start()


def test_a_forged_forwarded_for_from_loopback_does_not_pass_as_the_auth_proxy(
    tmp_path: Path, db_url: str | None
) -> None:
    seeded = seed(tmp_path / "data", db_url)
    server = _server(tmp_path, db_url, auth_proxy_header="X-User", auth_proxy_from=["10.9.9.9"])
    forged = {**API_HEADERS, "X-User": "ann", "X-Forwarded-For": "10.9.9.9"}
    try:
        with httpx.Client(base_url=server.url, timeout=30) as c:
            assert c.get("/api/auth/me", headers=forged).json()["user"] is None
            assert c.get("/api/runs", headers=forged).status_code == 401
            minted = c.post("/api/tokens", json={"name": "mine", "scope": "admin"}, headers=forged)
            assert minted.status_code == 401
            for chain in ("10.9.9.9, 10.9.9.9", "1.2.3.4, 10.9.9.9"):  # nor as the end of a chain
                assert c.get("/api/runs", headers={**forged, "X-Forwarded-For": chain}).status_code == 401
            # the same server believes a real peer in --auth-proxy-from: here a token works as before
            assert c.get("/api/runs", headers=seeded.headers("vic")).status_code == 200
    finally:
        server.stop()


def test_the_proxy_header_from_a_trusted_peer_and_the_address_it_forwards(tmp_path: Path, db_url: str | None) -> None:
    seeded = seed(tmp_path / "data", db_url)
    server = _server(tmp_path, db_url, auth_proxy_header="X-User", auth_proxy_from=["127.0.0.1"])
    try:
        with httpx.Client(base_url=server.url, timeout=30) as c:
            sent = {**API_HEADERS, "X-User": "ed", "X-Forwarded-For": "203.0.113.7"}
            assert c.get("/api/auth/me", headers=sent).json()["user"] == {"name": "ed", "role": "editor"}
            assert c.post("/api/tokens", json={"name": "via-proxy", "scope": "read"}, headers=sent).status_code == 201
            entries = c.get("/api/audit", headers=seeded.headers("ann")).json()["entries"]
    finally:
        server.stop()
    made = next(e for e in entries if e["action"] == "token_create" and "via-proxy" in e["target"])
    assert made["user"] == "ed" and made["ip"] == "203.0.113.7"  # the client the trusted proxy names


def _failures(c: httpx.Client, count: int) -> list[int]:
    """``count`` failed logins, each for another user name from another claimed address."""
    codes = []
    for i in range(count):
        body = {"username": f"nobody{i}", "password": "not the password"}
        codes.append(c.post("/api/auth/login", json=body, headers={"X-Forwarded-For": f"198.51.100.{i}"}).status_code)
    return codes


def test_rotating_forwarded_for_does_not_escape_the_login_limit(tmp_path: Path, db_url: str | None) -> None:
    seed(tmp_path / "data", db_url)
    server = _server(tmp_path, db_url, login_failures=5)
    try:
        with httpx.Client(base_url=server.url, timeout=30, headers=API_HEADERS) as c:
            assert _failures(c, 7) == [401] * 5 + [429] * 2  # one address: the real peer's
            right = {"username": "vic", "password": PASSWORDS["vic"]}
            assert (
                c.post("/api/auth/login", json=right, headers={"X-Forwarded-For": "198.51.100.99"}).status_code == 429
            )
    finally:
        server.stop()


def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_limit(tmp_path: Path, db_url: str | None) -> None:
    seed(tmp_path / "data", db_url)
    server = _server(tmp_path, db_url, login_failures=5, forwarded_allow_ips=["127.0.0.1"])
    try:
        with httpx.Client(base_url=server.url, timeout=30, headers=API_HEADERS) as c:
            assert _failures(c, 7) == [401] * 7  # seven clients behind the proxy, one failure each
            right = {"username": "vic", "password": PASSWORDS["vic"]}
            assert c.post("/api/auth/login", json=right, headers={"X-Forwarded-For": "198.51.100.1"}).status_code == 200
    finally:
        server.stop()
