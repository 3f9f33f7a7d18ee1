"""Logging in and out: ``/api/auth/me``, ``login`` (password), ``exchange`` (the one-time URL's code),
``logout``. The session cookie is ``HttpOnly; SameSite=Strict; Path=/`` and ``Secure`` over HTTPS."""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal, cast

from fastapi import APIRouter, HTTPException, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool

from trainboard.server.api.schemas import InModel
from trainboard.server.auth import secrets as auth_secrets
from trainboard.server.auth.audit import client_ip, record
from trainboard.server.auth.credentials import SESSION_COOKIE
from trainboard.server.auth.identity import Caller, Identity
from trainboard.server.auth.passwords import MAX_PASSWORD_CHARS, verify_password
from trainboard.server.auth.ratelimit import FailureLimiter
from trainboard.server.state import AppState, State
from trainboard.server.store import audit as audit_store
from trainboard.server.store import auth_sessions, auth_users

router = APIRouter(prefix="/api/auth", tags=["auth"])

WRONG = "wrong user name or password"


Via = Literal["none", "session", "token", "proxy"]


class UserOut(BaseModel):
    name: str
    role: str


class Me(BaseModel):
    auth: bool = Field(description="Whether this server asks for credentials")
    user: UserOut | None
    via: Via
    can_launch: bool = Field(
        description="Whether this caller may launch runs now (an admin, or an editor an admin granted launch; "
        "a token only of the launch or admin scope)"
    )


class LoginIn(InModel):
    username: Annotated[str, Field(min_length=1, max_length=256)]
    password: Annotated[str, Field(min_length=1, max_length=MAX_PASSWORD_CHARS)]


class ExchangeIn(InModel):
    code: Annotated[str, Field(min_length=1, max_length=256)]


class LoginOut(BaseModel):
    user: UserOut


_RATE_LIMITED: dict[int | str, dict[str, Any]] = {
    429: {"description": "Too many failed attempts for this user or address (see Retry-After)"}
}


def _limiter(state: AppState) -> FailureLimiter:
    limiter = state.extras.get("login_limiter")
    if not isinstance(limiter, FailureLimiter):
        limiter = FailureLimiter(state.settings.login_failures, state.settings.login_window)
        state.extras["login_limiter"] = limiter
    return limiter


def _check_rate(limiter: FailureLimiter, *keys: str) -> None:
    waits = [w for w in (limiter.retry_after(k) for k in keys) if w is not None]
    if waits:
        raise HTTPException(
            status_code=429,
            detail=f"too many failed login attempts: try again in {max(waits)} s",
            headers={"Retry-After": str(max(waits))},
        )


async def _start_session(state: AppState, request: Request, response: Response, user: dict[str, str]) -> None:
    session_id = auth_secrets.new_session_id()
    id_hash = auth_secrets.digest(session_id)
    ip = client_ip(request)
    name = user["name"]

    def job(conn: Connection) -> None:
        auth_sessions.insert_session(conn, id_hash=id_hash, user=name)
        audit_store.add_entry(conn, user=name, action="login", ip=ip)

    await state.ingest.commit(job)
    response.set_cookie(
        SESSION_COOKIE,
        session_id,
        max_age=int(state.settings.session_max_seconds),
        path="/",
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )


@router.get("/me", response_model=Me)
def auth_me(caller: Caller) -> Me:
    """Who the request is: ``auth`` false means the server is open (loopback, no users, or ``--no-auth``)."""
    user = caller.public_user()
    return Me(
        auth=caller.auth,
        user=UserOut(**user) if user else None,
        via=cast(Via, caller.via),
        can_launch=caller.can_launch,
    )


@router.post("/login", response_model=LoginOut, responses=_RATE_LIMITED)
async def auth_login(body: LoginIn, request: Request, response: Response, state: State) -> LoginOut:
    """Log in with a password; sets the session cookie. Failures are rate-limited per user name and address."""
    limiter = _limiter(state)
    ip = client_ip(request)
    keys = ("user:" + body.username.lower(), "ip:" + ip)
    _check_rate(limiter, *keys)

    def check() -> dict[str, str] | None:
        with state.engines.reader.connect() as conn:
            user = auth_users.get_user(conn, body.username)
        stored = user["password_hash"] if user and not user["disabled"] else None
        ok = verify_password(stored, body.password)
        return {"name": user["name"], "role": user["role"]} if ok and user else None

    user = await run_in_threadpool(check)
    if user is None:
        for key in keys:
            limiter.fail(key)
        name = body.username[:256]
        await state.ingest.commit(lambda c: audit_store.add_entry(c, user=name, action="login_failed", ip=ip))
        raise HTTPException(status_code=401, detail=WRONG)
    limiter.reset(keys[0])
    await _start_session(state, request, response, user)
    return LoginOut(user=UserOut(**user))


@router.post("/exchange", response_model=LoginOut, responses=_RATE_LIMITED)
async def auth_exchange(body: ExchangeIn, request: Request, response: Response, state: State) -> LoginOut:
    """Exchange the one-time login URL's code (printed by ``trainboard serve``) for a session."""
    limiter = _limiter(state)
    key = "ip:" + client_ip(request)
    _check_rate(limiter, key)
    code_hash = auth_secrets.digest(body.code)

    def consume(conn: Connection) -> dict[str, str] | None:
        name = auth_sessions.consume_login_code(conn, code_hash, time.time())
        user = auth_users.get_user(conn, name) if name else None
        return {"name": user["name"], "role": user["role"]} if user and not user["disabled"] else None

    user = await state.ingest.commit(consume)
    if user is None:
        limiter.fail(key)
        raise HTTPException(status_code=401, detail="this login link was used already or has expired")
    await _start_session(state, request, response, user)
    return LoginOut(user=UserOut(**user))


@router.post("/logout", status_code=204)
async def auth_logout(request: Request, state: State, caller: Caller) -> Response:
    """End this browser session (the cookie is cleared)."""
    session_id = request.cookies.get(SESSION_COOKIE)
    response = Response(status_code=204)
    if session_id:
        id_hash = auth_secrets.digest(session_id)
        ip = client_ip(request)
        who: Identity = caller

        def job(conn: Connection) -> None:
            if auth_sessions.delete_session(conn, id_hash):
                record(conn, who, ip, "logout")

        await state.ingest.commit(job)
    response.delete_cookie(
        SESSION_COOKIE, path="/", secure=request.url.scheme == "https", httponly=True, samesite="strict"
    )
    return response
