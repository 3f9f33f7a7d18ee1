"""Turn a request's credentials into an :class:`Identity`: a bearer token, the session cookie, or the trusted
proxy's header, in that order. Reads only (run in a worker thread); what must be written (``last_used_at``,
a session's ``last_seen``, a proxy user seen for the first time) is returned for the writer to do."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from http.cookies import CookieError, SimpleCookie
from typing import Any

from sqlalchemy import Connection

from trainboard.server.auth import secrets as auth_secrets
from trainboard.server.auth.identity import Identity
from trainboard.server.auth.roles import ADMIN, LAUNCH_SCOPES, LEVELS, may_launch
from trainboard.server.http.asgi import Scope, header
from trainboard.server.settings import Settings
from trainboard.server.store import auth_sessions, auth_tokens, auth_users

SESSION_COOKIE = "trainboard_session"


@dataclass(frozen=True)
class Presented:
    """What a request presents, read from its headers once."""

    token: str | None = None
    session: str | None = None
    proxy_user: str | None = None
    #: The request tried credentials (a bearer token or a session cookie): a failure is an error to report.
    tried: bool = False


@dataclass
class Outcome:
    identity: Identity | None
    #: Why the credentials were refused (for the 401's detail).
    problem: str = ""
    touch_token: int | None = None
    touch_session: str | None = None
    create_proxy_user: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def presented(scope: Scope, settings: Settings, *, proxy_trusted: bool) -> Presented:
    token = session = proxy_user = None
    auth = header(scope, b"authorization")
    if auth is not None:
        kind, _, value = auth.decode("latin-1").strip().partition(" ")
        if kind.lower() == "bearer" and value.strip():
            token = value.strip()
    cookie = header(scope, b"cookie")
    if cookie is not None:
        try:
            jar = SimpleCookie(cookie.decode("latin-1"))
        except CookieError:
            jar = SimpleCookie()
        morsel = jar.get(SESSION_COOKIE)
        if morsel is not None and morsel.value:
            session = morsel.value
    if settings.auth_proxy_header and proxy_trusted:
        value_b = header(scope, settings.auth_proxy_header.lower().encode("latin-1"))
        if value_b is not None and value_b.strip():
            proxy_user = value_b.decode("utf-8", "replace").strip()[:256]
    return Presented(token=token, session=session, proxy_user=proxy_user, tried=auth is not None or session is not None)


def resolve(conn: Connection, creds: Presented, settings: Settings, *, now: float | None = None) -> Outcome:
    now = time.time() if now is None else now
    if creds.token is not None:
        return _by_token(conn, creds.token, now)
    if creds.session is not None:
        outcome = _by_session(conn, creds.session, settings, now)
        if outcome.identity is not None or creds.proxy_user is None:
            return outcome
    if creds.proxy_user is not None:
        return _by_proxy(conn, creds.proxy_user, settings)
    return Outcome(None, "authentication required: log in, or send Authorization: Bearer <token>")


def _user_now(conn: Connection, name: str) -> tuple[str, int, bool] | None:
    """The user's role, its level and whether they may launch, as they are now; ``None`` if gone or disabled."""
    user = auth_users.get_user(conn, name)
    if user is None or user["disabled"]:
        return None
    return user["role"], LEVELS[user["role"]], may_launch(user["role"], user["can_launch"])


def _by_token(conn: Connection, token: str, now: float) -> Outcome:
    record = auth_tokens.by_hash(conn, auth_secrets.digest(token))
    bad = "invalid, expired or revoked token"
    if record is None or record["revoked"] or (record["expires_at"] is not None and record["expires_at"] <= now):
        return Outcome(None, bad)
    level = LEVELS[record["scope"]]
    role = None
    launch = record["scope"] in LAUNCH_SCOPES  # a service token: its scope alone (made by an admin at the CLI)
    if record["user"] is not None:  # capped by what the user may do now, not when the token was made
        user = _user_now(conn, record["user"])
        if user is None:
            return Outcome(None, bad)
        role, user_level, user_launch = user
        level = min(level, user_level)
        # the launch scope of a user who may launch; an admin scope only while it acts as admin
        launch = user_launch and (record["scope"] == "launch" or level >= ADMIN)
    touch = record["id"] if (record["last_used_at"] or 0) < now - auth_tokens.TOUCH_EVERY else None
    identity = Identity(
        user=record["user"],
        role=role,
        via="token",
        level=level,
        token_id=record["id"],
        scope=record["scope"],
        run_id=record["run_id"],
        can_launch=launch and record["run_id"] is None,
        token_name=record["name"],
    )
    return Outcome(identity, touch_token=touch)


def _by_session(conn: Connection, session_id: str, settings: Settings, now: float) -> Outcome:
    id_hash = auth_secrets.digest(session_id)
    row = auth_sessions.get_session(conn, id_hash)
    bad = "session ended: log in again"
    if row is None:
        return Outcome(None, bad)
    if row["last_seen"] < now - settings.session_idle_seconds or row["created_at"] < now - settings.session_max_seconds:
        return Outcome(None, bad)
    user = _user_now(conn, row["user_name"])
    if user is None:
        return Outcome(None, bad)
    role, level, launch = user
    identity = Identity(
        user=row["user_name"], role=role, via="session", level=level, session_hash=id_hash, can_launch=launch
    )
    touch = id_hash if row["last_seen"] < now - 60 else None
    return Outcome(identity, touch_session=touch)


def _by_proxy(conn: Connection, name: str, settings: Settings) -> Outcome:
    user = auth_users.get_user(conn, name)
    if user is None:
        role = settings.auth_proxy_role
        identity = Identity(user=name, role=role, via="proxy", level=LEVELS[role], can_launch=may_launch(role, False))
        return Outcome(identity, create_proxy_user=name)
    if user["disabled"]:
        return Outcome(None, f"user {name[:60]!r} is disabled")
    launch = may_launch(user["role"], user["can_launch"])
    return Outcome(Identity(user=name, role=user["role"], via="proxy", level=LEVELS[user["role"]], can_launch=launch))
