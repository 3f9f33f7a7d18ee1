"""Roles, token scopes and the one order they share: read < write < admin."""

from __future__ import annotations

ROLES = ("viewer", "editor", "admin")
SCOPES = ("read", "write", "admin", "launch")

READ, WRITE, ADMIN = 1, 2, 3
#: The level each role and scope grants. ``launch`` reads, and may launch (admin implies it).
LEVELS = {"viewer": READ, "editor": WRITE, "admin": ADMIN, "read": READ, "write": WRITE, "launch": READ}
LEVEL_NAMES = {READ: "read", WRITE: "write", ADMIN: "admin"}
ROLE_OF_LEVEL = {READ: "viewer", WRITE: "editor", ADMIN: "admin"}
