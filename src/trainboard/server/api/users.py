"""Users (admins only; the gate refuses everyone else): list, create, change role/password/disabled/launch grant,
remove. Passwords follow the server's policy (``--min-password-length``, 12 by default): 422 naming ``password``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import Connection

from trainboard.server.api.authz import raise_http
from trainboard.server.api.schemas import InModel
from trainboard.server.auth import accounts
from trainboard.server.auth.accounts import MIN_PASSWORD_CHARS, AuthInputError
from trainboard.server.auth.audit import client_ip, record
from trainboard.server.auth.identity import Caller
from trainboard.server.auth.passwords import MAX_PASSWORD_CHARS
from trainboard.server.state import State
from trainboard.server.store import auth_users

router = APIRouter(prefix="/api/users", tags=["users"])

Role = Literal["viewer", "editor", "admin"]
UserName = Annotated[str, Field(min_length=1, max_length=256, pattern=accounts.NAME_RE.pattern)]
#: The schema states the default policy (``--min-password-length`` may change it; the check is
#: ``accounts.check_password``, a 422 naming ``password`` either way).
Password = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_PASSWORD_CHARS,
        pattern=r"^[^\x00]*[^\s\x00][^\x00]*$",  # not only blanks, and no NUL (as every text in a body)
        json_schema_extra={"minLength": MIN_PASSWORD_CHARS},
        description=f"At least {MIN_PASSWORD_CHARS} characters by default (serve --min-password-length), not only "
        "spaces",
    ),
]
_KNOWN: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such user"},
    409: {"description": "It would leave no enabled admin"},
}


class UserPublic(BaseModel):
    name: str
    role: str
    disabled: bool
    created_at: float = Field(description="Epoch seconds")
    can_launch: bool = Field(description="May launch runs (admins always may; others when an admin granted it)")


class UserList(BaseModel):
    users: list[UserPublic]


_LAUNCH = "Grant (or withdraw) the launch permission: launching runs without being an admin"


class UserCreate(InModel):
    name: UserName
    role: Role
    password: Password
    can_launch: bool = Field(False, description=_LAUNCH)


class UserUpdate(InModel):
    role: Role | None = None
    password: Password | None = None
    disabled: bool | None = None
    can_launch: bool | None = Field(None, description=_LAUNCH)


@router.get("", response_model=UserList)
def list_users(state: State) -> UserList:
    with state.engines.reader.connect() as conn:
        return UserList(users=[UserPublic(**u) for u in auth_users.list_users(conn)])


@router.post(
    "",
    response_model=UserPublic,
    status_code=201,
    responses={409: {"description": "The name is taken, or authentication is off (the first user comes from the CLI)"}},
)
async def create_user(body: UserCreate, request: Request, state: State, caller: Caller) -> UserPublic:
    """Create a user. Not while authentication is off (loopback, no users): a first user would switch it on under
    everyone's feet; the first admin is made with ``trainboard user add NAME --role admin``."""
    if not caller.auth and not state.settings.no_auth:
        raise HTTPException(
            status_code=409,
            detail="authentication is off on this server: create the first user with "
            "`trainboard user add NAME --role admin` (it switches authentication on)",
        )
    ip = client_ip(request)
    minimum = state.settings.min_password_length

    def job(conn: Connection) -> dict[str, object]:
        user = accounts.create_user(
            conn,
            name=body.name,
            role=body.role,
            password=body.password,
            can_launch=body.can_launch,
            min_password_length=minimum,
        )
        record(conn, caller, ip, "user_create", body.name, f"role={body.role} can_launch={body.can_launch}")
        return user

    try:
        return UserPublic(**await state.ingest.commit(job))  # type: ignore[arg-type]
    except AuthInputError as exc:
        raise_http(exc)


@router.put("/{name}", response_model=UserPublic, responses=_KNOWN)
async def update_user(name: str, body: UserUpdate, request: Request, state: State, caller: Caller) -> UserPublic:
    """Change the role, the password (ends the user's sessions), ``disabled`` (also revokes their tokens) or
    ``can_launch``. A lower role applies to the user's existing tokens at once."""
    ip = client_ip(request)
    changed = ",".join(k for k, v in body.model_dump().items() if v is not None)
    minimum = state.settings.min_password_length

    def job(conn: Connection) -> dict[str, object]:
        user = accounts.update_user(
            conn,
            name,
            role=body.role,
            password=body.password,
            disabled=body.disabled,
            can_launch=body.can_launch,
            min_password_length=minimum,
        )
        record(conn, caller, ip, "user_update", name, changed)
        return user

    try:
        return UserPublic(**await state.ingest.commit(job))  # type: ignore[arg-type]
    except AuthInputError as exc:
        raise_http(exc)


@router.delete("/{name}", status_code=204, responses=_KNOWN)
async def delete_user(name: str, request: Request, state: State, caller: Caller) -> Response:
    """Remove the user: their sessions end and their tokens are revoked."""
    ip = client_ip(request)

    def job(conn: Connection) -> None:
        accounts.remove_user(conn, name)
        record(conn, caller, ip, "user_delete", name)

    try:
        await state.ingest.commit(job)
    except AuthInputError as exc:
        raise_http(exc)
    return Response(status_code=204)
