"""Applying episode actions: the writer jobs that open, fire, resolve or drop an alert and queue its
notifications in the same transaction, and the announcement to browsers once committed.

Shared by the rule engine (metric, status and log conditions) and the leader's watcher (stall, queued).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from trainboard.server.state import AppState
from trainboard.server.store import alerts as store
from trainboard.server.store import alerts_outbox as outbox
from trainboard.server.stream import topics

WAKE = "alerts_wake"


@dataclass
class Episode:
    """The open episode of a (rule, run, key) as the engine holds it (``alert_id`` set once stored)."""

    rule_id: int
    run_id: str
    key: str
    state: str  # pending | firing | closed
    started_at: float
    alert_id: int | None = None
    notified_at: float | None = None
    acked: bool = False


@dataclass(frozen=True)
class Op:
    """One action on an episode: pend | fire | resolve | drop | repeat."""

    action: str
    episode: Episode
    rule: dict[str, Any]
    title: str = ""
    message: str = ""
    value: float | None = None
    step: int | None = None
    level: str = "warning"
    at: float = 0.0


@dataclass
class Applied:
    """What a writer job changed: alerts to announce (with their event)."""

    changed: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


def _notify(conn: Connection, rule: dict[str, Any], alert: dict[str, Any], event: str, at: float) -> None:
    muted = rule.get("muted_until")
    if rule.get("channels") and not (muted and muted > at):
        outbox.enqueue(conn, alert_id=int(alert["id"]), channels=list(rule["channels"]), event=event)


def apply(conn: Connection, ops: list[Op]) -> Applied:
    """Run ``ops`` in order inside the writer's transaction; updates each ``Op.episode`` as it goes."""
    done = Applied()
    for op in ops:
        ep, rule = op.episode, op.rule
        if op.action in ("pend", "fire") and ep.alert_id is None:
            existing = store.open_alert(conn, rule_id=ep.rule_id, run_id=ep.run_id, key=ep.key)
            if existing is not None and not (op.action == "fire" and existing["state"] == "pending"):
                ep.alert_id, ep.state = int(existing["id"]), existing["state"]  # another process opened it
                continue
            if existing is None:
                made = store.create_alert(
                    conn,
                    rule_id=ep.rule_id,
                    run_id=ep.run_id,
                    key=ep.key,
                    state="firing" if op.action == "fire" else "pending",
                    level=op.level,
                    title=op.title,
                    message=op.message,
                    value=op.value,
                    step=op.step,
                    now=op.at,
                )
                ep.alert_id, ep.state = int(made["id"]), made["state"]
                if op.action == "fire":
                    ep.notified_at = op.at
                    _notify(conn, rule, made, "firing", op.at)
                    done.changed.append(("firing", made))
                continue
            ep.alert_id = int(existing["id"])
        if ep.alert_id is None:
            continue
        alert: dict[str, Any] | None
        if op.action == "fire":
            alert = store.set_alert(
                conn,
                alert_id=ep.alert_id,
                state="firing",
                fired_at=op.at,
                notified_at=op.at,
                message=op.message,
                value=op.value,
                step=op.step,
            )
            ep.state, ep.notified_at = "firing", op.at
        elif op.action == "resolve":
            alert = store.set_alert(conn, alert_id=ep.alert_id, state="resolved", resolved_at=op.at)
            ep.state = "closed"
        elif op.action == "drop":
            store.drop_alert(conn, alert_id=ep.alert_id)
            ep.state = "closed"
            continue
        elif op.action == "repeat":
            alert = store.set_alert(
                conn, alert_id=ep.alert_id, notified_at=op.at, message=op.message, value=op.value, step=op.step
            )
            ep.notified_at = op.at
            if alert and alert["acked_at"] is not None:
                continue  # acknowledged: no reminders
        else:
            continue
        if alert is not None:
            event = "firing" if op.action in ("fire", "repeat") else "resolved"
            _notify(conn, rule, alert, event, op.at)
            done.changed.append((event, alert))
    return done


def public_alert(alert: dict[str, Any]) -> dict[str, Any]:
    return {k: alert[k] for k in alert if k != "notified_at"}


def announce(state: AppState, applied: Applied) -> None:
    """After the commit: tell every dashboard (``{"type": "alert"}`` on /ws) and wake the deliverer."""
    for event, alert in applied.changed:
        state.broker.publish(topics.RUNS, {"type": "alert", "event": event, "alert": public_alert(alert)})
    if applied.changed:
        wake(state)


def wake(state: AppState) -> None:
    event = state.extras.get(WAKE)
    if isinstance(event, asyncio.Event):
        event.set()
