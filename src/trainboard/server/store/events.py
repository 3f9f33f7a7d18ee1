"""Run events: status changes, checkpoints, resumes, warnings - an append-only log per run."""

from __future__ import annotations

import json
import time
from typing import Any

from sqlalchemy import Connection, insert, select

from trainboard.server.store.docs import load_doc
from trainboard.server.store.tables import events


def add_event(
    conn: Connection,
    *,
    run_id: str,
    kind: str,
    message: str,
    data: dict[str, Any] | None = None,
    at: float | None = None,
) -> dict[str, Any]:
    """Record one event and return it as stored."""
    row = {
        "run_id": run_id,
        "time": time.time() if at is None else at,
        "kind": kind,
        "message": message,
        "data": json.dumps(data or {}),
    }
    result = conn.execute(insert(events).values(**row))
    pk = result.inserted_primary_key
    return {"id": pk[0] if pk else None, **row, "data": data or {}}


def list_events(conn: Connection, *, run_id: str, after_id: int = 0, limit: int = 1000) -> list[dict[str, Any]]:
    """Events of one run in time order (insertion order breaks ties)."""
    rows = conn.execute(
        select(events)
        .where(events.c.run_id == run_id, events.c.id > after_id)
        .order_by(events.c.time, events.c.id)
        .limit(limit)
    ).mappings()
    return [{**r, "data": load_doc(r["data"])} for r in rows]


#: Statuses whose reason is the failure diagnosis when the alert engine made one (``alerts.diagnosis``).
DIAGNOSED_STATUSES = frozenset({"failed", "interrupted"})


def status_reason(conn: Connection, *, run_id: str, status: str) -> str | None:
    """Why the run has its status: the reason of its latest status change, or for a failed or interrupted run
    the failure diagnosis recorded after that change (``diagnosis`` events), which names the cause."""
    kinds = ("status_change", "diagnosis") if status in DIAGNOSED_STATUSES else ("status_change",)
    rows = conn.execute(
        select(events.c.kind, events.c.message, events.c.data)
        .where(events.c.run_id == run_id, events.c.kind.in_(kinds))
        .order_by(events.c.id.desc())
        .limit(1)
    ).all()
    if not rows:
        return None
    kind, message, data = rows[0]
    if kind == "diagnosis":
        return str(message) if message else None
    reason = load_doc(data).get("reason")
    return str(reason) if reason else None
