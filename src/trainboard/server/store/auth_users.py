"""Users: name, role, Argon2id password hash, disabled flag, the launch permission an admin granted."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from trainboard.server.store.auth_tables import users

PUBLIC_COLUMNS = (users.c.name, users.c.role, users.c.disabled, users.c.created_at, users.c.can_launch)


def _public(row: Any) -> dict[str, Any]:
    return {
        "name": row["name"],
        "role": row["role"],
        "disabled": bool(row["disabled"]),
        "created_at": row["created_at"],
        "can_launch": bool(row["can_launch"]),
    }


def count_users(conn: Connection, *, enabled_only: bool = False) -> int:
    q = select(func.count()).select_from(users)
    if enabled_only:
        q = q.where(users.c.disabled.is_(False))
    return int(conn.execute(q).scalar_one())


def get_user(conn: Connection, name: str) -> dict[str, Any] | None:
    """The user with their password hash (``password_hash``), or ``None``."""
    row = conn.execute(select(users).where(users.c.name == name)).mappings().first()
    return {**_public(row), "password_hash": row["password_hash"]} if row else None


def list_users(conn: Connection) -> list[dict[str, Any]]:
    return [_public(r) for r in conn.execute(select(*PUBLIC_COLUMNS).order_by(users.c.name)).mappings()]


def first_admin(conn: Connection) -> str | None:
    q = (
        select(users.c.name)
        .where(users.c.role == "admin", users.c.disabled.is_(False))
        .order_by(users.c.created_at, users.c.name)
        .limit(1)
    )
    return conn.execute(q).scalar()


def insert_user(
    conn: Connection, *, name: str, role: str, password_hash: str | None, can_launch: bool = False
) -> dict[str, Any]:
    row = {
        "name": name,
        "role": role,
        "password_hash": password_hash,
        "disabled": False,
        "created_at": time.time(),
        "can_launch": can_launch,
    }
    conn.execute(insert(users).values(**row))
    return _public(row)


def update_user(conn: Connection, name: str, changes: dict[str, Any]) -> dict[str, Any] | None:
    if changes:
        conn.execute(update(users).where(users.c.name == name).values(**changes))
    user = get_user(conn, name)
    if user is not None:
        user.pop("password_hash")
    return user


def delete_user(conn: Connection, name: str) -> bool:
    return conn.execute(delete(users).where(users.c.name == name)).rowcount > 0
