"""The notification outbox: one row per (alert, channel, event), sent by the leader, each attempt recorded.

A row is written in the same transaction as the alert change it announces, so a notification is never lost
across a restart; only the process holding the leader lock sends, so it is sent once with ``--workers``.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Connection, insert, select, update

from trainboard.server.store.alerts import mask_channel
from trainboard.server.store.alerts_tables import alert_deliveries

#: Attempts per delivery before it is marked failed for good.
MAX_ATTEMPTS = 5


def enqueue(conn: Connection, *, alert_id: int, channels: list[str], event: str) -> int:
    now = time.time()
    for channel in channels:
        conn.execute(
            insert(alert_deliveries).values(
                alert_id=alert_id,
                channel=channel,
                event=event,
                status="pending",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        )
    return len(channels)


def due(conn: Connection, *, now: float, limit: int = 50) -> list[dict[str, Any]]:
    """Pending deliveries whose next attempt is due, oldest first (channels in clear: for sending)."""
    query = (
        select(alert_deliveries)
        .where(alert_deliveries.c.status == "pending", alert_deliveries.c.next_attempt_at <= now)
        .order_by(alert_deliveries.c.id)
        .limit(limit)
    )
    return [dict(r) for r in conn.execute(query).mappings()]


def record(conn: Connection, *, delivery_id: int, error: str | None, now: float) -> None:
    """One attempt's outcome: sent, else retried with backoff (1, 2, 4, 8 s ...) until ``MAX_ATTEMPTS``."""
    row = conn.execute(select(alert_deliveries.c.attempts).where(alert_deliveries.c.id == delivery_id)).first()
    if row is None:
        return
    attempts = int(row[0]) + 1
    if error is None:
        values: dict[str, Any] = {"status": "sent", "sent_at": now, "attempts": attempts, "last_error": None}
    elif attempts >= MAX_ATTEMPTS:
        values = {"status": "failed", "attempts": attempts, "last_error": error[:2000]}
    else:
        values = {"attempts": attempts, "last_error": error[:2000], "next_attempt_at": now + 2 ** (attempts - 1)}
    conn.execute(update(alert_deliveries).where(alert_deliveries.c.id == delivery_id).values(**values))


def of_alerts(conn: Connection, *, alert_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """Each alert's deliveries, channels masked (for the API)."""
    out: dict[int, list[dict[str, Any]]] = {i: [] for i in alert_ids}
    for start in range(0, len(alert_ids), 500):
        query = (
            select(alert_deliveries)
            .where(alert_deliveries.c.alert_id.in_(alert_ids[start : start + 500]))
            .order_by(alert_deliveries.c.id)
        )
        for row in conn.execute(query).mappings():
            item = dict(row)
            item["channel"] = mask_channel(item["channel"])
            out[int(item["alert_id"])].append(item)
    return out
