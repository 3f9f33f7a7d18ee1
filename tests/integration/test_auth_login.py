"""Logging in through a real server: the session cookie's flags, logout, failed-login limits (429 with
Retry-After), the one-time login URL printed by serve, the auth proxy header (only from a trusted peer),
roles on runs (editors delete their own), the audit log and the runs' events naming the user."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from tests.support.auth import PASSWORDS, SettingsServer, seed
from tests.support.servers import API_HEADERS, ServerProcess


def _client(server: ServerProcess, **headers: str) -> httpx.Client:
    return httpx.Client(base_url=server.url, timeout=30.0, headers={**API_HEADERS, **headers})


def test_password_login_sets_a_strict_http_only_cookie_and_logout_ends_it(tmp_path: Path) -> None:
    seed(tmp_path / "data")
    server = ServerProcess(data_dir=tmp_path / "data", db_url=None).start()
    try:
        with _client(server) as c:
            assert c.get("/api/auth/me").json() == {"auth": True, "user": None, "via": "none", "can_launch": False}
            wrong = c.post("/api/auth/login", json={"username": "ed", "password": "nope"})
            assert wrong.status_code == 401 and wrong.json() == {"detail": "wrong user name or password"}
            r = c.post("/api/auth/login", json={"username": "ed", "password": PASSWORDS["ed"]})
            assert r.status_code == 200 and r.json() == {"user": {"name": "ed", "role": "editor"}}
            flags = [f.strip().lower() for f in r.headers["set-cookie"].split(";")]
            assert flags[0].startswith("trainboard_session=") and len(flags[0]) > 40
            assert {"httponly", "samesite=strict", "path=/"} <= set(flags)
            assert "secure" not in flags  # plain HTTP here; over TLS the flag is set
            assert c.get("/api/auth/me").json() == {
                "auth": True,
                "user": {"name": "ed", "role": "editor"},
                "via": "session",
                "can_launch": False,  # an editor launches only with the grant an admin gives
            }
            assert c.get("/api/runs").status_code == 200
            session = c.cookies["trainboard_session"]
            assert c.post("/api/auth/logout").status_code == 204
            c.cookies.clear()
            stale = c.get("/api/runs", headers={"Cookie": f"trainboard_session={session}"})
            assert stale.status_code == 401  # the old cookie's session is gone on the server too
    finally:
        server.stop()


def test_failed_logins_are_limited_per_user_and_per_address(tmp_path: Path) -> None:
    seed(tmp_path / "data")
    server = ServerProcess(data_dir=tmp_path / "data", db_url=None).start()
    try:
        with _client(server) as c:
            codes = [
                c.post("/api/auth/login", json={"username": "vic", "password": "bad"}).status_code for _ in range(5)
            ]
            assert codes == [401] * 5
            limited = c.post("/api/auth/login", json={"username": "vic", "password": PASSWORDS["vic"]})
            assert limited.status_code == 429  # even the right password waits
            assert int(limited.headers["retry-after"]) >= 1 and "try again" in limited.json()["detail"]
            # the address is limited as well: five failures spread over names also stop this client
            other = c.post("/api/auth/login", json={"username": "ann", "password": PASSWORDS["ann"]})
            assert other.status_code == 429
            audit = c.get("/api/audit", headers={"Authorization": "Bearer " + seed_token(tmp_path)}).json()
            assert [e["action"] for e in audit["entries"]].count("login_failed") == 5
    finally:
        server.stop()


def seed_token(tmp_path: Path) -> str:
    from tests.support.auth import add_token

    return add_token(tmp_path / "data", name="audit", scope="admin", user="ann")[1]


def test_the_one_time_login_url_works_once(tmp_path: Path) -> None:
    seed(tmp_path / "data")
    server = ServerProcess(data_dir=tmp_path / "data", db_url=None).start()
    try:
        assert server.log_path is not None
        match = re.search(r"log in as ann .*(http://\S+)/login\?code=(\S+)", server.log_path.read_text())
        assert match is not None, server.log_path.read_text()
        assert match.group(1) == server.url
        with _client(server) as c:
            r = c.post("/api/auth/exchange", json={"code": match.group(2)})
            assert r.status_code == 200 and r.json()["user"] == {"name": "ann", "role": "admin"}
            assert c.get("/api/users").status_code == 200
        with _client(server) as c:
            assert c.post("/api/auth/exchange", json={"code": match.group(2)}).status_code == 401
    finally:
        server.stop()


def test_editors_delete_their_own_runs_and_deletes_are_audited(tmp_path: Path) -> None:
    seeded = seed(tmp_path / "data")
    server = ServerProcess(data_dir=tmp_path / "data", db_url=None).start()
    try:
        with _client(server) as c:
            ed, ann, vic = seeded.headers("ed"), seeded.headers("ann"), seeded.headers("vic")
            assert c.post("/api/runs", json={"id": "eds"}, headers=ed).json()["created_by"] == "ed"
            assert c.post("/api/runs", json={"id": "anns"}, headers=ann).json()["created_by"] == "ann"
            assert c.post("/api/runs", json={"id": "nope"}, headers=vic).status_code == 403
            refused = c.delete("/api/runs/anns", headers=ed)
            assert refused.status_code == 403 and "only admins" in refused.json()["detail"]
            assert c.delete("/api/runs/eds", headers=ed).status_code == 200
            assert c.delete("/api/runs/anns", headers=ann).status_code == 200
            c.post("/api/runs", json={"id": "kept"}, headers=ed).raise_for_status()
            assert c.delete("/api/runs/kept/logs", headers=ed).status_code == 200
            events = c.get("/api/runs/kept/events", headers=vic).json()["events"]
            assert any(e["kind"] == "logs_cleared" and e["data"]["by"] == "ed" for e in events)
            assert c.get("/api/audit", headers=ed).status_code == 403
            entries = c.get("/api/audit", headers=ann).json()["entries"]
            done = {(e["user"], e["action"], e["target"]) for e in entries}
            assert {("ed", "run_delete", "eds"), ("ann", "run_delete", "anns"), ("ed", "logs_clear", "kept")} <= done
            # tokens: a viewer may make a read token for themself, not a write one, and not for others
            assert c.post("/api/tokens", json={"name": "mine", "scope": "read"}, headers=vic).status_code == 201
            assert c.post("/api/tokens", json={"name": "more", "scope": "write"}, headers=vic).status_code == 403
            assert (
                c.post("/api/tokens", json={"name": "x", "scope": "read", "user": "ed"}, headers=vic).status_code == 403
            )
            bad = c.post("/api/users", json={"name": "new", "role": "boss", "password": "p"}, headers=ann)
            assert bad.status_code == 422 and "role" in str(bad.json()["detail"])
            # the last enabled admin stays: no demotion, disabling or removal through the API
            last = c.put("/api/users/ann", json={"role": "editor"}, headers=ann)
            assert last.status_code == 409 and "last admin" in last.json()["detail"]
            assert c.delete("/api/users/ann", headers=ann).status_code == 409
            made = c.post(
                "/api/users", json={"name": "nia", "role": "admin", "password": "nia-passphrase"}, headers=ann
            )
            assert made.status_code == 201
            assert c.put("/api/users/ed", json={"disabled": True}, headers=ann).json()["disabled"] is True
            assert c.get("/api/runs", headers=ed).status_code == 401  # a disabled user's tokens stop working
            assert c.delete("/api/users/ann", headers=ann).status_code == 204
    finally:
        server.stop()


def test_the_proxy_header_counts_only_from_a_trusted_peer(tmp_path: Path) -> None:
    seed(tmp_path / "data")
    proxy = {"auth_proxy_header": "X-Forwarded-Email", "auth_proxy_role": "viewer"}
    trusted = SettingsServer(
        data_dir=tmp_path / "data", db_url=None, settings={**proxy, "auth_proxy_from": ["127.0.0.1/32"]}
    ).start()
    try:
        with _client(trusted, **{"X-Forwarded-Email": "sso.user@example.com"}) as c:
            me = c.get("/api/auth/me").json()
            assert me == {
                "auth": True,
                "user": {"name": "sso.user@example.com", "role": "viewer"},
                "via": "proxy",
                "can_launch": False,  # a viewer is never granted launching
            }
            assert c.get("/api/runs").status_code == 200
            assert c.post("/api/runs", json={"id": "x"}).status_code == 403  # created as a viewer
    finally:
        trusted.stop()
    untrusted = SettingsServer(
        data_dir=tmp_path / "data", db_url=None, settings={**proxy, "auth_proxy_from": ["10.1.2.3"]}
    ).start()
    try:
        with _client(untrusted, **{"X-Forwarded-Email": "ann"}) as c:
            assert c.get("/api/auth/me").json()["user"] is None
            assert c.get("/api/runs").status_code == 401
    finally:
        untrusted.stop()


def test_a_session_ends_after_its_lifetime(tmp_path: Path) -> None:
    import time

    seed(tmp_path / "data")
    server = SettingsServer(data_dir=tmp_path / "data", db_url=None, settings={"session_max_seconds": 2.0}).start()
    try:
        with _client(server) as c:
            assert c.post("/api/auth/login", json={"username": "vic", "password": PASSWORDS["vic"]}).status_code == 200
            assert c.get("/api/runs").status_code == 200
            time.sleep(3.0)  # past the 2 s lifetime (the default is 7 days; idle expiry 12 h)
            assert c.get("/api/runs").status_code == 401
            assert c.get("/api/auth/me").json()["user"] is None
    finally:
        server.stop()
