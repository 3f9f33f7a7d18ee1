"""Recording who did what: the audit log entry, and for run changes the run's own event with the user."""

from __future__ import annotations

from sqlalchemy import Connection
from starlette.requests import HTTPConnection

from trainboard.server.auth.identity import Identity
from trainboard.server.store import audit as audit_store
from trainboard.server.store import events as events_store


def client_ip(conn: HTTPConnection) -> str:
    return conn.client.host if conn.client else ""


def actor(identity: Identity) -> str | None:
    return identity.user


def record(
    conn: Connection,
    identity: Identity,
    ip: str,
    action: str,
    target: str = "",
    detail: str = "",
    *,
    run_id: str | None = None,
) -> None:
    """An audit entry; with ``run_id`` also an event on that run naming the user (``by``)."""
    by = identity.actor
    audit_store.add_entry(conn, user=identity.user, action=action, target=target, detail=detail, ip=ip)
    if run_id is not None:
        message = f"{action.replace('_', ' ')} by {by}" + (f": {detail}" if detail else "")
        events_store.add_event(conn, run_id=run_id, kind=action, message=message, data={"by": by, "ip": ip})
