"""Users and tokens straight on the database, for the server-side CLI commands (``trainboard user``/``token``).

Each call is one transaction on an engine from :func:`open_engine`; bad input raises
:class:`AuthInputError` with a one-line message. Actions are written to the audit log as done by ``cli``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from trainboard.server.auth import accounts
from trainboard.server.auth.accounts import AuthInputError
from trainboard.server.auth.roles import ROLES, SCOPES
from trainboard.server.settings import Settings
from trainboard.server.store import audit, auth_tokens, auth_users
from trainboard.server.store.engine import make_engines, upgrade

__all__ = [
    "ROLES",
    "SCOPES",
    "AuthInputError",
    "create_token",
    "create_user",
    "list_tokens",
    "list_users",
    "open_engine",
    "remove_user",
    "revoke_token",
    "update_user",
]

CLI = "cli"


def open_engine(settings: Settings) -> Engine:
    """The writer engine for ``settings``' database, migrated to the newest schema; ``dispose()`` it after."""
    engines = make_engines(settings)
    engines.reader.dispose()
    upgrade(engines.writer)
    return engines.writer


def create_user(
    engine: Engine,
    name: str,
    role: str,
    password: str,
    *,
    can_launch: bool = False,
    min_password_length: int = accounts.MIN_PASSWORD_CHARS,
) -> dict[str, Any]:
    with engine.begin() as conn:
        user = accounts.create_user(
            conn,
            name=name,
            role=role,
            password=password,
            can_launch=can_launch,
            min_password_length=min_password_length,
        )
        audit.add_entry(conn, user=None, action="user_create", target=name, detail=f"role={role} via {CLI}")
    return user


def list_users(engine: Engine) -> list[dict[str, Any]]:
    with engine.begin() as conn:
        return auth_users.list_users(conn)


def update_user(
    engine: Engine,
    name: str,
    *,
    role: str | None = None,
    password: str | None = None,
    disabled: bool | None = None,
    can_launch: bool | None = None,
    min_password_length: int = accounts.MIN_PASSWORD_CHARS,
) -> dict[str, Any]:
    with engine.begin() as conn:
        user = accounts.update_user(
            conn,
            name,
            role=role,
            password=password,
            disabled=disabled,
            can_launch=can_launch,
            min_password_length=min_password_length,
        )
        given = (("role", role), ("password", password), ("disabled", disabled), ("can_launch", can_launch))
        changed = [k for k, v in given if v is not None]
        audit.add_entry(conn, user=None, action="user_update", target=name, detail=f"{','.join(changed)} via {CLI}")
    return user


def remove_user(engine: Engine, name: str) -> None:
    with engine.begin() as conn:
        accounts.remove_user(conn, name)
        audit.add_entry(conn, user=None, action="user_delete", target=name, detail=f"via {CLI}")


def create_token(
    engine: Engine,
    *,
    name: str,
    scope: str,
    user: str | None = None,
    expires_in: float | None = None,
    run_id: str | None = None,
) -> tuple[dict[str, Any], str]:
    with engine.begin() as conn:
        record, secret = accounts.create_token(
            conn, name=name, scope=scope, user=user, expires_in=expires_in, run_id=run_id
        )
        audit.add_entry(
            conn, user=user, action="token_create", target=f"{record['id']} {name}", detail=f"scope={scope} via {CLI}"
        )
    return record, secret


def list_tokens(engine: Engine, *, user: str | None = None) -> list[dict[str, Any]]:
    with engine.begin() as conn:
        return auth_tokens.list_tokens(conn, user=user)


def revoke_token(engine: Engine, token_id: int) -> None:
    with engine.begin() as conn:
        token = accounts.revoke_token(conn, int(token_id))
        audit.add_entry(conn, user=token["user"], action="token_revoke", target=str(token_id), detail=f"via {CLI}")
