"""Who created a run (``runs.created_by``): set when a signed-in user creates it; editors delete only theirs."""

from __future__ import annotations

from sqlalchemy import Connection, select, update

from trainboard.server.store.tables import runs


def set_created_by(conn: Connection, *, run_id: str, user: str) -> None:
    conn.execute(update(runs).where(runs.c.id == run_id).values(created_by=user))


def created_by(conn: Connection, *, run_id: str) -> str | None:
    return conn.execute(select(runs.c.created_by).where(runs.c.id == run_id)).scalar()
