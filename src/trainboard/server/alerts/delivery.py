"""The deliverer: the leader sends what the outbox holds, a few at a time, each in a thread (Apprise and
urllib block), and records every attempt. Woken right after an alert is committed in this process; polls
the outbox every ``POLL_SECONDS`` for what other processes queued and for retries that came due."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from sqlalchemy import Connection

from trainboard.server.alerts import channels
from trainboard.server.alerts.transitions import WAKE, public_alert
from trainboard.server.state import AppState
from trainboard.server.store import alerts as store
from trainboard.server.store import alerts_outbox as outbox
from trainboard.server.store.runs import get_run

log = logging.getLogger(__name__)

POLL_SECONDS = 0.5
#: Notifications sent at the same time at most.
PARALLEL = 8

Due = tuple[dict[str, Any], dict[str, Any], dict[str, Any] | None]


def _load(state: AppState, now: float) -> list[Due]:
    with state.engines.reader.connect() as conn:
        out = []
        for item in outbox.due(conn, now=now):
            alert = store.get_alert(conn, alert_id=int(item["alert_id"]))
            if alert is None:
                continue
            run = get_run(conn, run_id=alert["run_id"]) if alert["run_id"] else None
            out.append((item, alert, run))
        return out


def compose(item: dict[str, Any], alert: dict[str, Any], run: dict[str, Any] | None) -> dict[str, Any]:
    """Title, body, level and the JSON payload of one notification."""
    event = item["event"]
    where = f" — {run['project']}/{run['name']}" if run else ""
    label = {"firing": "FIRING", "resolved": "RESOLVED", "test": "TEST"}.get(event, event.upper())
    title = f"[trainboard] {label}: {alert['title']}{where}"
    body = alert["message"] or alert["title"]
    if event == "resolved":
        body = f"resolved: {body}"
    if run:
        body += f"\nrun {run['id']} ({run['status']})"
    payload = {
        "event": event,
        "alert": public_alert(alert),
        "run": {k: run[k] for k in ("id", "name", "project", "status")} if run else None,
        "title": title,
        "message": body,
    }
    return {"title": title, "body": body, "level": alert["level"], "payload": payload}


async def _send_one(item: dict[str, Any], alert: dict[str, Any], run: dict[str, Any] | None) -> tuple[int, str | None]:
    note = compose(item, alert, run)
    try:
        error = await asyncio.to_thread(channels.send, item["channel"], **note)
    except Exception as exc:  # a bug in a notifier plugin: recorded like a refusal
        error = f"{type(exc).__name__}: {exc}"
    return int(item["id"]), error


async def deliver_due(state: AppState) -> int:
    """Send every delivery that is due (``PARALLEL`` at a time); returns how many were attempted."""
    items = await asyncio.to_thread(_load, state, time.time())
    for start in range(0, len(items), PARALLEL):
        results = await asyncio.gather(*(_send_one(*i) for i in items[start : start + PARALLEL]))

        def job(conn: Connection, results: list[tuple[int, str | None]] = results) -> None:
            now = time.time()
            for delivery_id, error in results:
                outbox.record(conn, delivery_id=delivery_id, error=error, now=now)

        await state.writer.run(job)
        for delivery_id, error in results:
            if error:
                log.warning("alert delivery %d failed: %s", delivery_id, error.splitlines()[-1][:300])
    return len(items)


async def deliver(state: AppState, poll: float = POLL_SECONDS) -> None:
    """Forever (a leader job): deliver what is due, then wait for a wake-up or ``poll`` seconds."""
    wake = state.extras.setdefault(WAKE, asyncio.Event())
    while True:
        wake.clear()
        try:
            await deliver_due(state)
        except Exception:
            log.exception("alert delivery round failed")
        try:
            await asyncio.wait_for(wake.wait(), poll)
        except TimeoutError:
            pass
