"""The audit log: who did what, when, from where. Append-only; read by admins (GET /api/audit)."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Connection, insert, select

from trainboard.server.store.auth_tables import audit_log

ACTIONS = (
    "login",
    "login_failed",
    "logout",
    "token_create",
    "token_revoke",
    "user_create",
    "user_update",
    "user_delete",
    "run_delete",
    "checkpoint_delete",
    "logs_clear",
    "launch",
    "cancel",
)


def add_entry(
    conn: Connection, *, user: str | None, action: str, target: str = "", detail: str = "", ip: str = ""
) -> None:
    conn.execute(
        insert(audit_log).values(
            time=time.time(), user_name=user, action=action, target=target[:1000], detail=detail[:2000], ip=ip[:64]
        )
    )


def list_entries(conn: Connection, *, limit: int = 100, before: int | None = None) -> list[dict[str, Any]]:
    """Newest first; ``before`` pages on by entry id."""
    q = select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
    if before is not None:
        q = q.where(audit_log.c.id < before)
    return [
        {
            "id": int(r["id"]),
            "time": r["time"],
            "user": r["user_name"],
            "action": r["action"],
            "target": r["target"],
            "detail": r["detail"],
            "ip": r["ip"],
        }
        for r in conn.execute(q).mappings()
    ]
