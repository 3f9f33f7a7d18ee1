"""Host system samples of the server's machine (the ``system_metrics`` table), with retention."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, delete, insert, select

from trainboard.server.store.tables import system_metrics


def add_sample(conn: Connection, *, at: float, sample: dict[str, float], keep_after: float) -> None:
    conn.execute(insert(system_metrics).values(time=at, data=json.dumps(sample)))
    conn.execute(delete(system_metrics).where(system_metrics.c.time < keep_after))


def history(conn: Connection, *, since: float | None, limit: int) -> list[tuple[float, dict[str, float]]]:
    q = select(system_metrics.c.time, system_metrics.c.data)
    if since is not None:
        q = q.where(system_metrics.c.time >= since)
    rows = conn.execute(q.order_by(system_metrics.c.time.desc()).limit(limit)).all()
    return [(t, json.loads(d)) for t, d in reversed(rows)]


def latest(conn: Connection) -> tuple[float, dict[str, Any]] | None:
    row = conn.execute(
        select(system_metrics.c.time, system_metrics.c.data).order_by(system_metrics.c.time.desc()).limit(1)
    ).first()
    return None if row is None else (row[0], json.loads(row[1]))
