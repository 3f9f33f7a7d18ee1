"""The auth layer's pure parts: failure limits, proxy networks, credentials read from headers, the permission
table's defaults (a route nobody listed is protected), secrets and password hashes."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import APIRouter, FastAPI

from trainboard.server.app import create_app
from trainboard.server.auth import secrets as auth_secrets
from trainboard.server.auth.credentials import presented
from trainboard.server.auth.passwords import hash_password, verify_password
from trainboard.server.auth.policy import RouteTable
from trainboard.server.auth.proxy import parse_networks, peer_trusted
from trainboard.server.auth.ratelimit import FailureLimiter
from trainboard.server.auth.roles import ADMIN, READ, WRITE
from trainboard.server.settings import Settings


def test_failures_over_the_limit_wait_until_the_window_passes() -> None:
    limiter = FailureLimiter(limit=3, window=60.0)
    for t in (0.0, 1.0, 2.0):
        assert limiter.retry_after("u", now=t) is None
        limiter.fail("u", now=t)
    assert limiter.retry_after("u", now=3.0) == 57
    assert limiter.retry_after("other", now=3.0) is None
    assert limiter.retry_after("u", now=60.5) is None  # the first failure left the window
    limiter.reset("u")
    assert limiter.retry_after("u", now=3.0) is None


def test_the_limiter_forgets_keys_beyond_its_bound() -> None:
    limiter = FailureLimiter(limit=1, window=60.0, max_keys=10)
    for i in range(100):
        limiter.fail(f"k{i}", now=0.0)
    assert len(limiter._failures) <= 10


def test_proxy_networks() -> None:
    nets = parse_networks(["127.0.0.1", "10.0.0.0/8", "::1"])
    assert peer_trusted("10.2.3.4", nets) and peer_trusted("127.0.0.1", nets) and peer_trusted("::1", nets)
    assert not peer_trusted("192.168.1.1", nets) and not peer_trusted("", nets) and not peer_trusted("junk", nets)
    assert not peer_trusted("127.0.0.1", ())
    with pytest.raises(ValueError, match="not an address or CIDR: 'nope'"):
        parse_networks(["nope"])


def _scope(*headers: tuple[bytes, bytes]) -> dict[str, object]:
    return {"type": "http", "headers": list(headers)}


def test_credentials_from_headers() -> None:
    settings = Settings(data_dir=Path("/unused"), auth_proxy_header="X-Email")
    creds = presented(_scope((b"authorization", b"Bearer tb_abc")), settings, proxy_trusted=False)
    assert creds.token == "tb_abc" and creds.tried
    creds = presented(_scope((b"cookie", b"a=1; trainboard_session=s3ss")), settings, proxy_trusted=False)
    assert creds.session == "s3ss" and creds.token is None
    assert presented(_scope((b"x-email", b"ann")), settings, proxy_trusted=False).proxy_user is None
    assert presented(_scope((b"x-email", b"ann")), settings, proxy_trusted=True).proxy_user == "ann"
    assert not presented(_scope((b"authorization", b"Basic eDp5")), settings, proxy_trusted=False).token
    assert presented(_scope((b"cookie", b"\x00garbage;;=")), settings, proxy_trusted=False).session is None


def test_a_route_nobody_listed_is_protected_by_its_method(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path))
    extra = APIRouter()

    @extra.get("/api/new-thing")
    def new_get() -> dict[str, str]:
        return {}

    @extra.post("/api/new-thing")
    def new_post() -> dict[str, str]:
        return {}

    @extra.get("/api/users/extra")
    def admin_extra() -> dict[str, str]:
        return {}

    probe = FastAPI()
    probe.include_router(extra)
    table = RouteTable([*probe.routes, *app.routes])
    level = {r.name: (r.public, r.level) for r in table.rules}
    assert level["new_get"] == (False, READ)
    assert level["new_post"] == (False, WRITE)
    assert level["admin_extra"] == (False, ADMIN)
    assert level["openapi"] == (False, READ)
    rule, _ = table.match({"type": "http", "method": "DELETE", "path": "/nowhere"})
    assert rule is None  # unmatched: the gate applies the method's default (write)


def test_secrets_and_passwords() -> None:
    token = auth_secrets.new_token()
    assert token.startswith("tb_") and len(token) == 46
    assert auth_secrets.shown_prefix(token) == token[:9]
    assert auth_secrets.digest(token) != auth_secrets.digest(auth_secrets.new_token())
    stored = hash_password("correct horse")
    assert stored.startswith("$argon2id$")
    assert verify_password(stored, "correct horse")
    assert not verify_password(stored, "wrong")
    assert not verify_password(None, "anything")
    assert not verify_password("not a hash", "x")
