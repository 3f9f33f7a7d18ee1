"""API tokens: each user lists, creates and revokes their own; admins everyone's. The secret is in the
creation's answer only. A token never has more than its creator's role allows."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import Connection

from trainboard.server.api.authz import raise_http
from trainboard.server.api.schemas import InModel
from trainboard.server.auth import accounts
from trainboard.server.auth.accounts import AuthInputError
from trainboard.server.auth.audit import client_ip, record
from trainboard.server.auth.identity import Caller, Identity
from trainboard.server.auth.roles import LEVELS
from trainboard.server.state import State
from trainboard.server.store import auth_tokens
from trainboard.wire import ID_PATTERN, MAX_JSON_INT

router = APIRouter(prefix="/api/tokens", tags=["tokens"])

Scope = Literal["read", "write", "admin", "launch"]


class TokenPublic(BaseModel):
    id: int
    name: str
    scope: str
    run_id: str | None
    prefix: str = Field(description="The first characters of the token, to recognise it")
    created_at: float = Field(description="Epoch seconds")
    expires_at: float | None
    last_used_at: float | None
    revoked: bool
    user: str | None = Field(description="Whose token it is; null for a service token")


class TokenCreated(TokenPublic):
    token: str = Field(description="The secret: shown this once, store it now")


class TokenList(BaseModel):
    tokens: list[TokenPublic]


class TokenCreate(InModel):
    name: Annotated[str, Field(min_length=1, max_length=256)]
    scope: Scope
    expires_in_days: Annotated[float | None, Field(gt=0, le=36500)] = None
    run_id: Annotated[str | None, Field(pattern=ID_PATTERN)] = None
    user: Annotated[str | None, Field(min_length=1, max_length=256, description="Admins: whose token")] = None


def _mine(caller: Identity, token: dict[str, Any]) -> bool:
    return caller.is_admin or (caller.user is not None and token["user"] == caller.user)


@router.get("", response_model=TokenList)
def list_tokens(
    state: State,
    caller: Caller,
    all: Annotated[bool, Query(description="Everyone's tokens (admins)")] = False,
) -> TokenList:
    """The caller's tokens; with ``all=true`` (admins) everyone's."""
    if all and not caller.is_admin:
        raise HTTPException(status_code=403, detail="all=true needs the admin role")
    user = None if (all or caller.user is None) else caller.user
    with state.engines.reader.connect() as conn:
        return TokenList(tokens=[TokenPublic(**t) for t in auth_tokens.list_tokens(conn, user=user)])


@router.post(
    "",
    response_model=TokenCreated,
    status_code=201,
    responses={404: {"description": "No such user"}},
)
async def create_token(body: TokenCreate, request: Request, state: State, caller: Caller) -> TokenCreated:
    """Create a token for the caller (admins: for ``user``). Its scope may exceed neither the caller's role nor its
    owner's (``launch``: an admin, or a user granted launch); it is capped by the owner's role at every request
    after that. A run-scoped token (``run_id``, usually with the scope ``write``) may use only that run's routes."""
    if body.user is not None and body.user != caller.user and not caller.is_admin:
        raise HTTPException(status_code=403, detail="only admins create tokens for other users")
    if body.scope == "launch" and not caller.can_launch:
        raise HTTPException(
            status_code=403,
            detail="the scope 'launch' needs the launch permission: an admin, or an editor an admin granted launch",
        )
    if body.scope != "launch" and LEVELS[body.scope] > caller.level:
        raise HTTPException(status_code=403, detail=f"the scope {body.scope!r} is more than your role allows")
    owner = body.user if body.user is not None else caller.user
    ip = client_ip(request)
    expires_in = body.expires_in_days * 86400 if body.expires_in_days is not None else None

    def job(conn: Connection) -> tuple[dict[str, Any], str]:
        made, secret = accounts.create_token(
            conn, name=body.name, scope=body.scope, user=owner, expires_in=expires_in, run_id=body.run_id
        )
        record(conn, caller, ip, "token_create", f"{made['id']} {body.name}", f"scope={body.scope} user={owner}")
        return made, secret

    try:
        made, secret = await state.ingest.commit(job)
    except AuthInputError as exc:
        raise_http(exc)
    return TokenCreated(**made, token=secret)


@router.delete("/{token_id}", status_code=204, responses={404: {"description": "No such token (of yours)"}})
async def revoke_token(
    token_id: Annotated[int, Path(ge=1, le=MAX_JSON_INT)], request: Request, state: State, caller: Caller
) -> Response:
    """Revoke a token: it stops working at once, and streams opened with it close within seconds."""
    ip = client_ip(request)

    def job(conn: Connection) -> bool:
        token = auth_tokens.get_token(conn, token_id)
        if token is None or not _mine(caller, token):
            return False
        auth_tokens.revoke(conn, token_id)
        record(conn, caller, ip, "token_revoke", str(token_id), token["name"])
        return True

    if not await state.ingest.commit(job):
        raise HTTPException(status_code=404, detail=f"token {token_id} not found")
    return Response(status_code=204)
