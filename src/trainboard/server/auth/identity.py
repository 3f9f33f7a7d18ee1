"""Who is asking: the identity the gate puts on every request's ASGI scope, and how handlers read it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException
from starlette.requests import HTTPConnection

from trainboard.server.auth.roles import ADMIN, LEVEL_NAMES

#: The ASGI scope key holding the request's :class:`Identity` (set by ``gate.AuthGate``).
SCOPE_KEY = "trainboard.identity"


@dataclass(frozen=True)
class Identity:
    """``level`` is what the request may do (roles.READ/WRITE/ADMIN, 0 = nothing). A token acts with the lower of
    its scope and its user's role; ``run_id`` set means a run-scoped token (that run only). ``can_launch``: it
    may launch runs now (the user is an admin or was granted launch, and a token's scope is launch or admin)."""

    user: str | None
    role: str | None
    via: str  # "none" (auth off or no credentials), "session", "token", "proxy"
    level: int
    auth: bool = True
    token_id: int | None = None
    scope: str | None = None
    run_id: str | None = None
    session_hash: str | None = None
    can_launch: bool = False
    #: The token's name (``via`` "token"): what a service token's actions are recorded as.
    token_name: str | None = None

    def public_user(self) -> dict[str, str] | None:
        if self.user is None:
            return None
        return {"name": self.user, "role": self.role or LEVEL_NAMES.get(self.level, "none")}

    @property
    def actor(self) -> str:
        """Who to record as having done something: the user; a service token (no user) as ``token:NAME``;
        ``local`` when authentication is off."""
        if self.user is not None:
            return self.user
        if self.via == "token":
            return f"token:{self.token_name}" if self.token_name else f"token:#{self.token_id}"
        return "local"

    @property
    def is_admin(self) -> bool:
        return self.level >= ADMIN

    @property
    def acts_as_admin(self) -> bool:
        """An admin, or a token of an admin user (e.g. their launch token: level read, but the user is an admin)."""
        return self.is_admin or self.role == "admin"

    def owns(self, created_by: str | None) -> bool:
        """Whether a run with this ``created_by`` counts as the caller's (auth off: everything does)."""
        return not self.auth or (self.user is not None and created_by == self.user)


#: Auth is off: every request may do everything (local use, or --no-auth).
LOCAL = Identity(user=None, role=None, via="none", level=ADMIN, auth=False, can_launch=True)
#: Auth is on and the request carries no (valid) credentials: only public routes let it through.
NOBODY = Identity(user=None, role=None, via="none", level=0)


def identity_of(conn: HTTPConnection) -> Identity:
    """FastAPI dependency: the caller. Without the gate in front (never in a built app) nobody may do anything."""
    identity = conn.scope.get(SCOPE_KEY)
    return identity if isinstance(identity, Identity) else NOBODY


Caller = Annotated[Identity, Depends(identity_of)]


def require(identity: Identity, level: int, what: str) -> None:
    """403 unless ``identity`` has ``level``."""
    if identity.level < level:
        raise HTTPException(status_code=403, detail=f"{what} needs the {LEVEL_NAMES[level]} permission")
