"""Browser sessions (cookie ids stored as digests) and one-time login codes."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from trainboard.server.store.auth_tables import login_codes, sessions


def insert_session(conn: Connection, *, id_hash: str, user: str) -> None:
    now = time.time()
    conn.execute(insert(sessions).values(id_hash=id_hash, user_name=user, created_at=now, last_seen=now))


def get_session(conn: Connection, id_hash: str) -> dict[str, Any] | None:
    row = conn.execute(select(sessions).where(sessions.c.id_hash == id_hash)).mappings().first()
    return dict(row) if row else None


def touch_session(conn: Connection, id_hash: str, at: float) -> None:
    conn.execute(update(sessions).where(sessions.c.id_hash == id_hash).values(last_seen=at))


def delete_session(conn: Connection, id_hash: str) -> bool:
    return conn.execute(delete(sessions).where(sessions.c.id_hash == id_hash)).rowcount > 0


def delete_user_sessions(conn: Connection, user: str) -> int:
    return int(conn.execute(delete(sessions).where(sessions.c.user_name == user)).rowcount)


def delete_expired_sessions(conn: Connection, *, idle_before: float, created_before: float) -> int:
    q = delete(sessions).where((sessions.c.last_seen < idle_before) | (sessions.c.created_at < created_before))
    return int(conn.execute(q).rowcount)


def insert_login_code(conn: Connection, *, code_hash: str, user: str, expires_at: float) -> None:
    conn.execute(insert(login_codes).values(code_hash=code_hash, user_name=user, expires_at=expires_at))


def consume_login_code(conn: Connection, code_hash: str, now: float) -> str | None:
    """The user a valid code logs in; the code is gone afterwards (single use), expired ones too."""
    row = conn.execute(select(login_codes).where(login_codes.c.code_hash == code_hash)).mappings().first()
    conn.execute(delete(login_codes).where((login_codes.c.code_hash == code_hash) | (login_codes.c.expires_at < now)))
    if row is None or row["expires_at"] < now:
        return None
    return str(row["user_name"])
