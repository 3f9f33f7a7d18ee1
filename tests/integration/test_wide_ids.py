"""Issue 21, item 3: every integer the API accepts (up to 2**53 - 1) is answered without a 5xx on both engines;
one more is a 422 naming the parameter. PostgreSQL answered 500 "integer out of range" where a 32-bit column met
such a parameter (migration 0010 widens them)."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from alembic import command
from sqlalchemy import text
from tests.support.servers import ServerProcess

from trainboard.server.settings import Settings
from trainboard.server.store.engine import alembic_config, make_engines
from trainboard.wire import MAX_JSON_INT

BIG = MAX_JSON_INT  # 2**53 - 1, the largest integer a JSON number carries exactly
#: (method, path, where the integer goes, its name, the answer with BIG)
CASES = [
    ("GET", "/api/audit", "query", "before", 200),
    ("GET", "/api/runs/r1/events", "query", "after_id", 200),
    ("DELETE", "/api/tokens/{}", "path", "token_id", 404),
    ("GET", "/api/runs", "query", "offset", 200),
    ("GET", "/api/runs/r1/logs", "query", "offset", 200),
    ("GET", "/api/runs/r1/logs/lines", "query", "after", 200),
]


def _ask(http: httpx.Client, method: str, path: str, where: str, name: str, value: int) -> httpx.Response:
    if where == "path":
        return http.request(method, path.format(value))
    return http.request(method, path, params={name: value})


@pytest.fixture
def server(make_server: Callable[..., ServerProcess]) -> ServerProcess:
    server = make_server()
    with server.client() as http:
        http.post("/api/runs", json={"id": "r1", "name": "r1"}).raise_for_status()
        http.post("/api/runs/r1/logs", json={"message": "hello"}).raise_for_status()
    return server


@pytest.mark.parametrize(("method", "path", "where", "name", "status"), CASES, ids=[f"{c[1]}:{c[3]}" for c in CASES])
def test_the_largest_json_integer_is_answered_and_one_more_is_422(
    server: ServerProcess, method: str, path: str, where: str, name: str, status: int
) -> None:
    with server.client() as http:
        at_max = _ask(http, method, path, where, name, BIG)
        assert at_max.status_code == status, at_max.text
        over = _ask(http, method, path, where, name, BIG + 1)
        assert over.status_code == 422, over.text
        assert over.json()["detail"][0]["loc"] == [where, name]


def test_bodies_with_the_largest_integers_are_stored(server: ServerProcess) -> None:
    with server.client() as http:
        batch = {"stream": "s", "lines": [{"message": "late", "seq": BIG}]}
        assert http.post("/api/runs/r1/logs/batch", json=batch).status_code == 201
        ckpt = http.post("/api/runs/r1/checkpoints", json={"path": "/nowhere/m.pt", "step": 1, "size": BIG})
        assert ckpt.status_code == 201, ckpt.text
        assert http.get(f"/api/checkpoints/{ckpt.json()['id']}").json()["size"] == BIG


def test_a_database_at_0009_keeps_its_tokens_and_users_through_0010(
    make_server: Callable[..., ServerProcess], db_url: str | None
) -> None:
    """Migration 0010 on a database with data: token and event ids kept, users may not launch until granted, and
    on PostgreSQL the columns and their sequences are BIGINT (a new row may take an id above 2**31)."""
    server = make_server(start=False)
    settings = Settings(data_dir=server.data_dir, db_url=db_url)
    server.data_dir.mkdir(parents=True, exist_ok=True)
    engines = make_engines(settings)
    cfg = alembic_config()
    try:
        with engines.writer.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0009")
            conn.execute(
                text(
                    "INSERT INTO users (name, role, password_hash, disabled, created_at) "
                    "VALUES ('ann', 'admin', NULL, false, 1)"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO api_tokens (id, name, scope, user_name, prefix, secret_hash, created_at, revoked) "
                    "VALUES (7, 'old', 'read', 'ann', 'tb_x', 'h', 1, false)"
                )
            )
        with engines.writer.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
            token = conn.execute(text("SELECT id, name FROM api_tokens")).one()
            assert tuple(token) == (7, "old")
            assert conn.execute(text("SELECT can_launch FROM users WHERE name = 'ann'")).scalar_one() in (False, 0)
            if engines.writer.dialect.name == "postgresql":
                types = conn.execute(
                    text(
                        "SELECT table_name || '.' || column_name, data_type FROM information_schema.columns WHERE "
                        "(table_name, column_name) IN (('api_tokens', 'id'), ('audit_log', 'id'), ('events', 'id'), "
                        "('system_metrics', 'id'), ('launches', 'token_id'))"
                    )
                ).all()
                assert sorted(t for _c, t in types) == ["bigint"] * 5, types
                seqs = conn.execute(
                    text(
                        "SELECT sequencename, data_type FROM pg_sequences WHERE sequencename IN "
                        "('api_tokens_id_seq', 'audit_log_id_seq', 'events_id_seq', 'system_metrics_id_seq')"
                    )
                ).all()
                assert sorted(t for _s, t in seqs) == ["bigint"] * 4, seqs
                conn.execute(text("SELECT setval('audit_log_id_seq', 3000000000)"))
            big = conn.execute(
                text("INSERT INTO audit_log (time, action) VALUES (1, 'probe') RETURNING id")
            ).scalar_one()
            assert engines.writer.dialect.name != "postgresql" or big == 3000000001
    finally:
        engines.dispose()
