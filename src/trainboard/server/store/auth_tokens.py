"""API tokens: stored as SHA-256 digests, listed by their ``tb_xxxxxx`` prefix, revocable."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Connection, insert, select, update

from trainboard.server.store.auth_tables import api_tokens

#: ``last_used_at`` is written at most this often per token (seconds).
TOUCH_EVERY = 60.0


def public(row: Any) -> dict[str, Any]:
    return {
        "id": int(row["id"]),
        "name": row["name"],
        "scope": row["scope"],
        "run_id": row["run_id"],
        "prefix": row["prefix"],
        "created_at": row["created_at"],
        "expires_at": row["expires_at"],
        "last_used_at": row["last_used_at"],
        "revoked": bool(row["revoked"]),
        "user": row["user_name"],
    }


def insert_token(
    conn: Connection,
    *,
    name: str,
    scope: str,
    prefix: str,
    secret_hash: str,
    user: str | None,
    expires_at: float | None,
    run_id: str | None,
) -> dict[str, Any]:
    row = {
        "name": name,
        "scope": scope,
        "run_id": run_id,
        "user_name": user,
        "prefix": prefix,
        "secret_hash": secret_hash,
        "created_at": time.time(),
        "expires_at": expires_at,
        "last_used_at": None,
        "revoked": False,
    }
    pk = conn.execute(insert(api_tokens).values(**row)).inserted_primary_key
    return public({**row, "id": pk[0] if pk else 0})


def by_hash(conn: Connection, secret_hash: str) -> dict[str, Any] | None:
    row = conn.execute(select(api_tokens).where(api_tokens.c.secret_hash == secret_hash)).mappings().first()
    return public(row) if row else None


def get_token(conn: Connection, token_id: int) -> dict[str, Any] | None:
    row = conn.execute(select(api_tokens).where(api_tokens.c.id == token_id)).mappings().first()
    return public(row) if row else None


def list_tokens(conn: Connection, *, user: str | None = None) -> list[dict[str, Any]]:
    q = select(api_tokens).order_by(api_tokens.c.id)
    if user is not None:
        q = q.where(api_tokens.c.user_name == user)
    return [public(r) for r in conn.execute(q).mappings()]


def revoke(conn: Connection, token_id: int) -> bool:
    return conn.execute(update(api_tokens).where(api_tokens.c.id == token_id).values(revoked=True)).rowcount > 0


def revoke_user_tokens(conn: Connection, user: str) -> int:
    return int(conn.execute(update(api_tokens).where(api_tokens.c.user_name == user).values(revoked=True)).rowcount)


def touch(conn: Connection, token_id: int, at: float) -> None:
    conn.execute(update(api_tokens).where(api_tokens.c.id == token_id).values(last_used_at=at))
