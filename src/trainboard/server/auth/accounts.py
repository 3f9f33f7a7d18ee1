"""Users and tokens with their rules (names, roles, scopes), on one connection. The CLI (through ``manage``)
and the HTTP API (through the writer) share them, so both refuse the same input with the same words."""

from __future__ import annotations

import re
import time
from typing import Any

from sqlalchemy import Connection

from trainboard.server.auth import secrets as auth_secrets
from trainboard.server.auth.passwords import MAX_PASSWORD_CHARS, hash_password
from trainboard.server.auth.roles import ROLES, SCOPES, may_launch, scope_allowed
from trainboard.server.store import auth_sessions, auth_tokens, auth_users
from trainboard.wire import ID_RE

#: The default shortest password (``Settings.min_password_length`` overrides it for the API).
MIN_PASSWORD_CHARS = 12
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,255}$")
MAX_TOKEN_NAME = 256


class AuthInputError(ValueError):
    """Input the auth layer refuses; the message is one line for a person. ``field`` names what was wrong,
    ``status`` is the HTTP status the API answers with (400, 404 or 409)."""

    def __init__(self, message: str, *, field: str = "", status: int = 400) -> None:
        super().__init__(message)
        self.field = field
        self.status = status


def check_name(name: str) -> str:
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise AuthInputError(
            f"user name {str(name)[:60]!r} is not valid: 1-256 characters of A-Z a-z 0-9 . _ @ + -, "
            "starting with a letter or digit",
            field="name",
        )
    return name


def check_role(role: str) -> str:
    if role not in ROLES:
        raise AuthInputError(f"unknown role {str(role)[:40]!r}: use one of {', '.join(ROLES)}", field="role")
    return role


def check_password(password: str, *, min_length: int = MIN_PASSWORD_CHARS) -> str:
    """The password policy: at least ``min_length`` characters (``serve --min-password-length``), at most
    :data:`MAX_PASSWORD_CHARS`, not only spaces."""
    if not isinstance(password, str) or not password:
        raise AuthInputError("the password is empty", field="password")
    if len(password) < min_length:
        raise AuthInputError(
            f"the password is {len(password)} characters long: use at least {min_length} (a passphrase of a few "
            "words is easy to remember)",
            field="password",
        )
    if not password.strip():
        raise AuthInputError("the password is only spaces", field="password")
    if len(password) > MAX_PASSWORD_CHARS:
        raise AuthInputError(f"the password is longer than {MAX_PASSWORD_CHARS} characters", field="password")
    return password


def check_launch_grant(role: str, can_launch: bool) -> None:
    """A launch grant needs the editor role at least: a launched job writes its run with its launcher's rights."""
    if can_launch and not may_launch(role, can_launch):
        raise AuthInputError(
            f"can_launch: a {role} may not be granted launch (a launched job writes its run): make them an editor",
            field="can_launch",
            status=409,
        )


def create_user(
    conn: Connection,
    *,
    name: str,
    role: str,
    password: str | None,
    can_launch: bool = False,
    min_password_length: int = MIN_PASSWORD_CHARS,
) -> dict[str, Any]:
    """A new user; ``password=None`` only for users the auth proxy vouches for."""
    check_name(name)
    check_role(role)
    check_launch_grant(role, can_launch)
    if password is not None:
        check_password(password, min_length=min_password_length)
    if auth_users.get_user(conn, name) is not None:
        raise AuthInputError(f"user {name!r} exists already", field="name", status=409)
    digest = hash_password(password) if password is not None else None
    return auth_users.insert_user(conn, name=name, role=role, password_hash=digest, can_launch=can_launch)


def _keep_an_admin(conn: Connection, name: str) -> None:
    """Refuse (409) to take away the last enabled admin: nobody could manage users through the API after that."""
    user = auth_users.get_user(conn, name)
    if user is None or user["role"] != "admin" or user["disabled"]:
        return
    admins = [u for u in auth_users.list_users(conn) if u["role"] == "admin" and not u["disabled"]]
    if len(admins) <= 1:
        raise AuthInputError(f"{name!r} is the last admin: make another admin first", field="name", status=409)


def update_user(
    conn: Connection,
    name: str,
    *,
    role: str | None = None,
    password: str | None = None,
    disabled: bool | None = None,
    can_launch: bool | None = None,
    min_password_length: int = MIN_PASSWORD_CHARS,
) -> dict[str, Any]:
    """Change a user. A new role (or a withdrawn launch grant) applies to their existing tokens at their next
    request: the gate caps every token by its user's current role."""
    if (role is not None and role != "admin") or disabled:
        _keep_an_admin(conn, name)
    changes: dict[str, Any] = {}
    if role is not None:
        changes["role"] = check_role(role)
    if password is not None:
        changes["password_hash"] = hash_password(check_password(password, min_length=min_password_length))
    if disabled is not None:
        changes["disabled"] = bool(disabled)
    if can_launch is not None:
        changes["can_launch"] = bool(can_launch)
    if role == "viewer" or can_launch:
        current = auth_users.get_user(conn, name)
        new_role = role if role is not None else current["role"] if current else "viewer"
        if can_launch:
            check_launch_grant(new_role, True)
        elif new_role == "viewer":
            changes["can_launch"] = False  # demoted to viewer: the grant goes too (a job writes its run)
    user = auth_users.update_user(conn, name, changes)
    if user is None:
        raise AuthInputError(f"unknown user {name[:60]!r}", field="name", status=404)
    if disabled or password is not None:  # a new password or a disabled account ends the open sessions
        auth_sessions.delete_user_sessions(conn, name)
    if disabled:
        auth_tokens.revoke_user_tokens(conn, name)
    return user


def remove_user(conn: Connection, name: str) -> None:
    _keep_an_admin(conn, name)
    if not auth_users.delete_user(conn, name):
        raise AuthInputError(f"unknown user {name[:60]!r}", field="name", status=404)
    auth_sessions.delete_user_sessions(conn, name)
    auth_tokens.revoke_user_tokens(conn, name)


def create_token(
    conn: Connection,
    *,
    name: str,
    scope: str,
    user: str | None = None,
    expires_in: float | None = None,
    run_id: str | None = None,
) -> tuple[dict[str, Any], str]:
    """A new token: ``(record, secret)``; the secret is not stored and cannot be shown again."""
    if not isinstance(name, str) or not name or len(name) > MAX_TOKEN_NAME:
        raise AuthInputError(f"a token needs a name of 1-{MAX_TOKEN_NAME} characters", field="name")
    if scope not in SCOPES:
        raise AuthInputError(f"unknown scope {str(scope)[:40]!r}: use one of {', '.join(SCOPES)}", field="scope")
    if run_id is not None and not ID_RE.match(run_id):  # any scope: a run-scoped token acts on that run only
        raise AuthInputError("run_id must be 1-64 characters of A-Z a-z 0-9 _ -", field="run_id")
    if expires_in is not None and not (0 < expires_in <= 100 * 365 * 86400):
        raise AuthInputError("expires_in must be a positive duration of at most 100 years", field="expires_in")
    if user is not None:
        account = auth_users.get_user(conn, user)
        if account is None:
            raise AuthInputError(f"unknown user {user[:60]!r}", field="user", status=404)
        if account["disabled"]:
            raise AuthInputError(f"user {user!r} is disabled", field="user")
        if not scope_allowed(scope, account["role"], account["can_launch"]):
            grant = " and has no launch grant (trainboard user update NAME --launch)" if scope == "launch" else ""
            raise AuthInputError(  # 403: a permission matter, like a scope beyond the caller's own role
                f"scope: user {user!r} is {account['role']}{grant}: a {scope!r} token would be more than the user "
                "may do",
                field="scope",
                status=403,
            )
    secret = auth_secrets.new_token()
    record = auth_tokens.insert_token(
        conn,
        name=name,
        scope=scope,
        prefix=auth_secrets.shown_prefix(secret),
        secret_hash=auth_secrets.digest(secret),
        user=user,
        expires_at=time.time() + expires_in if expires_in is not None else None,
        run_id=run_id,
    )
    return record, secret


def revoke_token(conn: Connection, token_id: int) -> dict[str, Any]:
    token = auth_tokens.get_token(conn, token_id)
    if token is None:
        raise AuthInputError(f"unknown token id {token_id}", field="id", status=404)
    auth_tokens.revoke(conn, token_id)
    return {**token, "revoked": True}
