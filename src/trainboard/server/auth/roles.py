"""Roles, token scopes and the one order they share: read < write < admin; and who may launch.

A token acts with the lower of its scope and its user's role *now* (``credentials``: checked at every request,
so a demotion takes effect at once). Launching is separate from the order: the ``launch`` (or ``admin``) scope,
held by a user who is an admin or was granted launch by one.
"""

from __future__ import annotations

ROLES = ("viewer", "editor", "admin")
SCOPES = ("read", "write", "admin", "launch")

READ, WRITE, ADMIN = 1, 2, 3
#: The level each role and scope grants. ``launch`` reads, and may launch (admin implies it).
LEVELS = {"viewer": READ, "editor": WRITE, "admin": ADMIN, "read": READ, "write": WRITE, "launch": READ}
LEVEL_NAMES = {READ: "read", WRITE: "write", ADMIN: "admin"}
ROLE_OF_LEVEL = {READ: "viewer", WRITE: "editor", ADMIN: "admin"}

#: Token scopes that may launch: ``launch`` when its user may (``may_launch``), ``admin`` while it acts as admin
#: (its user is still an admin); a service token (no user) by its scope alone.
LAUNCH_SCOPES = frozenset({"launch", "admin"})


def may_launch(role: str | None, granted: bool) -> bool:
    """Whether a user may launch runs: admins, and editors an admin granted it (``users.can_launch``). Never a
    viewer: a launched job writes its run with a token of its launcher."""
    return role == "admin" or (granted and role == "editor")


def scope_allowed(scope: str, role: str, granted: bool) -> bool:
    """Whether a user with ``role`` (and the launch grant or not) may hold a token of ``scope`` at all."""
    if scope == "launch":
        return may_launch(role, granted)
    return LEVELS[scope] <= LEVELS[role]
