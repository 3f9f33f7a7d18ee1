"""The leader's clock for the time-based conditions: a run that stopped stepping (stall) and a run queued
too long. Once a second it compares each live run's progress (written by the rule engine) with the rules
in scope, and resolves the episodes of runs that ended or started."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from trainboard.server.alerts import conditions, episodes
from trainboard.server.alerts.evaluators import stall_after
from trainboard.server.alerts.transitions import Episode, Op, announce, apply
from trainboard.server.state import AppState
from trainboard.server.store import alerts as store

log = logging.getLogger(__name__)

INTERVAL_SECONDS = 1.0


def _snapshot(state: AppState) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any], list[Any]]:
    with state.engines.reader.connect() as conn:
        rules = [r for r in store.enabled_rules(conn) if r["condition"].get("kind") in conditions.TIMED_KINDS]
        if not rules:
            return [], [], {}, []
        runs = store.live_runs(conn)
        progress = store.progress(conn, run_ids=[r["id"] for r in runs if r["status"] == "running"])
        opened = [a for a in store.open_alerts(conn) if a["rule_id"] in {r["id"] for r in rules}]
    return rules, runs, progress, opened


def plan(
    rules: list[dict[str, Any]],
    runs: list[dict[str, Any]],
    progress: dict[str, Any],
    opened: list[dict[str, Any]],
    now: float,
) -> list[Op]:
    """The ops for one tick (pure: tested without a database)."""
    open_by = {(a["rule_id"], a["run_id"]): a for a in opened}
    ops: list[Op] = []
    seen: set[tuple[int, str]] = set()
    for rule in rules:
        cond = conditions.parse(rule["condition"])
        for run in runs:
            if not (rule["run_id"] == run["id"] or (rule["run_id"] is None and rule["project"] == run["project"])):
                continue
            if cond["kind"] == "stall":
                prog = progress.get(run["id"])
                if run["status"] != "running" or prog is None:
                    continue
                limit = stall_after([prog["median_interval"]] if prog["median_interval"] else [], cond["seconds"])
                quiet = now - prog["last_step_at"]
                active = quiet > limit
                message = f"no new step for {quiet:.0f} s (limit {limit:.0f} s) after step {prog['last_step']:,}"
                step = int(prog["last_step"])
            else:
                if run["status"] != "queued":
                    continue
                waited = now - run["created_at"]
                active = waited > cond["seconds"]
                message = f"queued for {waited:.0f} s (limit {cond['seconds']:.0f} s)"
                step = None
            seen.add((rule["id"], run["id"]))
            row = open_by.get((rule["id"], run["id"]))
            ep = _episode(rule, run["id"], row, now)
            current = None if row is None else episodes.Open(row["state"], row["started_at"], row["notified_at"])
            action = episodes.step(
                current, active=active, now=now, for_seconds=rule["for_seconds"], repeat_seconds=rule["repeat_seconds"]
            )
            if action != "none":
                ops.append(Op(action, ep, rule, title=rule["name"], message=message, step=step, at=now))
    for (rule_id, run_id), row in open_by.items():  # the run ended or moved on: the episode ends
        if (rule_id, run_id) not in seen:
            rule = next(r for r in rules if r["id"] == rule_id)
            action = "drop" if row["state"] == "pending" else "resolve"
            ops.append(Op(action, _episode(rule, run_id, row, now), rule, at=now))
    return ops


def _episode(rule: dict[str, Any], run_id: str, row: dict[str, Any] | None, now: float) -> Episode:
    if row is None:
        return Episode(rule["id"], run_id, "", "closed", now)
    ep = Episode(rule["id"], run_id, row["key"], row["state"], row["started_at"], alert_id=int(row["id"]))
    ep.notified_at = row["notified_at"]
    return ep


async def watch(state: AppState, interval: float = INTERVAL_SECONDS) -> None:
    """Forever: one tick every ``interval`` seconds (a leader job)."""
    while True:
        await asyncio.sleep(interval)
        try:
            rules, runs, progress, opened = await asyncio.to_thread(_snapshot, state)
            ops = plan(rules, runs, progress, opened, time.time())
            if ops:
                announce(state, await state.writer.run(lambda conn, ops=ops: apply(conn, ops)))  # type: ignore[misc]
        except Exception:
            log.exception("alert watcher tick failed")
