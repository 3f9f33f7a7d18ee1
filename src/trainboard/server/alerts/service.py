"""Wiring the alerts into a running app: the rule engine as a write-path subscriber, the watcher and the
deliverer as leader jobs (once across server processes)."""

from __future__ import annotations

import asyncio
from functools import partial

from trainboard.server import costs
from trainboard.server.alerts.delivery import deliver
from trainboard.server.alerts.engine import AlertEngine
from trainboard.server.alerts.transitions import WAKE
from trainboard.server.alerts.watcher import watch
from trainboard.server.lifecycle.leader import Job
from trainboard.server.state import AppState

ENGINE = "alerts_engine"


def start(state: AppState) -> list[tuple[str, Job]]:
    """Register the engine (``state.subscribers``); the leader jobs to run with the other background jobs."""
    engine = AlertEngine(state)
    state.extras[ENGINE] = engine
    state.extras.setdefault(WAKE, asyncio.Event())
    state.subscribers.add(engine)
    state.extras.setdefault(costs.BUDGET_LISTENERS_KEY, []).append(budget_alert)
    return [("alert-watcher", partial(watch, state)), ("alert-delivery", partial(deliver, state))]


def rules_changed(state: AppState) -> None:
    """A rule was added, changed or removed in this process: the engine reloads before the next change."""
    engine = state.extras.get(ENGINE)
    if isinstance(engine, AlertEngine):
        engine.invalidate()


async def budget_alert(state: AppState, crossing: costs.BudgetCrossing) -> None:
    """A project's budget crossed: an alert on the run it was recorded on, sent through the channels of the
    rules that apply to that run (the project's), as an alert the training code raises would be."""
    from trainboard.server.alerts import actions  # actions imports this module (rules_changed)

    if crossing.run_id is None:
        return
    await actions.explicit_alert(state, crossing.run_id, title="budget crossed", text=crossing.message, level="warning")
