"""The alert write path for the API: each function runs its writer job, then tells the engine (rules changed)
or the dashboards and the deliverer (an alert changed). Routers call these and answer; they never write."""

from __future__ import annotations

import time
from typing import Any

from fastapi import HTTPException
from sqlalchemy import Connection

from trainboard.server.alerts.service import rules_changed
from trainboard.server.alerts.transitions import Applied, announce
from trainboard.server.state import AppState
from trainboard.server.store import alerts as store
from trainboard.server.store import alerts_outbox as outbox
from trainboard.server.store.runs import get_run


class UnknownRun(LookupError):
    """The rule or alert names a run that does not exist."""


async def create_rules(state: AppState, specs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Create rules (``store.create_rule`` keyword arguments each), all or none; raises ``UnknownRun``."""

    def job(conn: Connection) -> list[dict[str, Any]]:
        made = []
        for spec in specs:
            if spec.get("run_id") is not None and get_run(conn, run_id=spec["run_id"]) is None:
                raise UnknownRun(spec["run_id"])
            made.append(store.create_rule(conn, **spec))
        return made

    rules = await state.writer.run(job)
    rules_changed(state)
    return rules


async def update_rule(state: AppState, rule_id: int, changes: dict[str, Any]) -> dict[str, Any] | None:
    rule = await state.writer.run(lambda c: store.update_rule(c, rule_id=rule_id, changes=changes))
    rules_changed(state)
    return rule


async def delete_rule(state: AppState, rule_id: int) -> bool:
    done = await state.writer.run(lambda c: store.delete_rule(c, rule_id=rule_id))
    rules_changed(state)
    return done


async def acknowledge(
    state: AppState, alert_id: int, by: str | None
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    def job(conn: Connection) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        alert = store.acknowledge(conn, alert_id=alert_id, by=by)
        return alert, outbox.of_alerts(conn, alert_ids=[alert_id])[alert_id] if alert else []

    alert, deliveries = await state.writer.run(job)
    if alert is not None:
        announce(state, Applied(changed=[("acknowledged", alert)]))
    return alert, deliveries


async def explicit_alert(
    state: AppState, run_id: str, *, title: str, text: str, level: str, client_id: str | None = None
) -> dict[str, Any]:
    """An alert raised by the training code, sent through the channels of the rules that apply to the run.

    With ``client_id`` (the SDK's id of the call) a retried request finds the alert the first one made (its key
    is ``sdk:<id>``) and sends nothing again."""
    key = f"sdk:{client_id}" if client_id else ""

    def job(conn: Connection) -> tuple[dict[str, Any], bool]:
        run = get_run(conn, run_id=run_id)
        if run is None:
            raise HTTPException(404, f"run {run_id!r} not found")
        if client_id and (made := store.explicit_alert(conn, run_id=run_id, key=key)) is not None:
            return made, False
        rules = store.rules_matching(store.enabled_rules(conn), run_id=run_id, project=run["project"])
        targets = list(dict.fromkeys(c for r in rules for c in r["channels"]))
        alert = store.create_alert(
            conn,
            rule_id=None,
            run_id=run_id,
            key=key,
            state="firing",
            level=level,
            title=title,
            message=text,
            value=None,
            step=run.get("last_step"),
            now=time.time(),
        )
        outbox.enqueue(conn, alert_id=int(alert["id"]), channels=targets, event="firing")
        return alert, True

    alert, new = await state.writer.run(job)
    if new:
        announce(state, Applied(changed=[("firing", alert)]))
    return alert
