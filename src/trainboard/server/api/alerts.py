"""Alerts: rules (``/api/alert-rules``), the alerts they raised (``/api/alerts``), acknowledging, testing a
rule's channels, one-click defaults for a project, and an explicit alert from a run (``monitor.alert``)."""

from __future__ import annotations

import asyncio
import math
import time
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response

from trainboard.server.alerts import actions, conditions
from trainboard.server.alerts import channels as channel_check
from trainboard.server.api.alert_schemas import (
    AlertList,
    AlertOut,
    DefaultsIn,
    DeliveryOut,
    ExplicitAlertIn,
    RuleIn,
    RuleList,
    RuleOut,
    RulePatch,
    TestOut,
    TestResult,
)
from trainboard.server.api.errors import invalid, not_found
from trainboard.server.auth.identity import Caller
from trainboard.server.state import State
from trainboard.server.store import alerts as store
from trainboard.server.store import alerts_outbox as outbox
from trainboard.wire import encode_float

router = APIRouter(tags=["alerts"])
RuleId = Annotated[int, Path(ge=1, le=2**53 - 1)]
RunId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]

DEFAULTS: dict[str, tuple[str, dict[str, Any]]] = {
    "nan": ("A metric is NaN or infinite", {"kind": "nan", "key": "*"}),
    "stall": ("Run stalled", {"kind": "stall"}),
    "status": ("Run failed or was interrupted", {"kind": "status", "statuses": ["failed", "interrupted"]}),
}


def _rule_out(rule: dict[str, Any]) -> RuleOut:
    return RuleOut(**rule, description=conditions.describe(conditions.parse(rule["condition"])))


def _alert_out(alert: dict[str, Any], deliveries: list[dict[str, Any]]) -> AlertOut:
    value = alert["value"]
    shown = encode_float(value) if isinstance(value, float) and not math.isfinite(value) else value
    return AlertOut(**{**alert, "value": shown}, deliveries=[DeliveryOut(**d) for d in deliveries])


def _check_channels(urls: list[str], loc: str = "channels") -> None:
    for i, url in enumerate(urls):
        why = channel_check.check(url)
        if why:
            invalid(["body", loc, i], why)


@router.post("/api/alert-rules", status_code=201, response_model=RuleOut)
async def create_alert_rule(body: RuleIn, state: State, caller: Caller) -> RuleOut:
    """A rule for every run of ``project`` (present and future) or for one run (``run_id``)."""
    if (body.project is None) == (body.run_id is None):
        invalid(["body", "project"], "give either project (every run of it) or run_id (one run)")
    try:
        condition = conditions.parse(body.condition)
    except conditions.ConditionError as exc:
        invalid(["body", "condition", exc.field], exc.message)
    await asyncio.to_thread(_check_channels, body.channels)

    spec = {
        "name": body.name,
        "project": body.project,
        "run_id": body.run_id,
        "condition": condition,
        "for_seconds": body.for_seconds,
        "repeat_seconds": body.repeat_seconds,
        "channels": body.channels,
        "enabled": body.enabled,
        "created_by": caller.user,
    }
    try:
        (rule,) = await actions.create_rules(state, [spec])
    except actions.UnknownRun:
        invalid(["body", "run_id"], f"no run {body.run_id!r}")
    return _rule_out(rule)


@router.post("/api/alert-rules/defaults", status_code=201, response_model=RuleList)
async def create_default_alert_rules(body: DefaultsIn, state: State, caller: Caller) -> RuleList:
    """One click: the default rules for a project (NaN/Inf on any metric, stall, failed or interrupted)."""
    await asyncio.to_thread(_check_channels, body.channels)

    specs = []
    for kind in dict.fromkeys(body.kinds):
        name, raw = DEFAULTS[kind]
        specs.append(
            {
                "name": name,
                "project": body.project,
                "run_id": None,
                "condition": conditions.parse(raw),
                "for_seconds": 0.0,
                "repeat_seconds": None,
                "channels": body.channels,
                "created_by": caller.user,
            }
        )
    rules = await actions.create_rules(state, specs)
    return RuleList(rules=[_rule_out(r) for r in rules])


@router.get("/api/alert-rules", response_model=RuleList)
def list_alert_rules(
    state: State,
    project: Annotated[str | None, Query(max_length=256)] = None,
    run_id: Annotated[str | None, Query(max_length=64)] = None,
) -> RuleList:
    with state.engines.reader.connect() as conn:
        return RuleList(rules=[_rule_out(r) for r in store.list_rules(conn, project=project, run_id=run_id)])


@router.patch("/api/alert-rules/{rule_id}", response_model=RuleOut)
async def update_alert_rule(rule_id: RuleId, body: RulePatch, state: State) -> RuleOut:
    """Rename, enable or disable, silence for ``mute_seconds`` (0 ends a silence), change the periods."""
    given = body.model_dump(exclude_unset=True, exclude={"mute_seconds"})
    changes: dict[str, Any] = {k: v for k, v in given.items() if v is not None or k == "repeat_seconds"}
    if body.mute_seconds is not None:
        changes["muted_until"] = time.time() + body.mute_seconds if body.mute_seconds else None
    rule = await actions.update_rule(state, rule_id, changes)
    if rule is None:
        not_found("alert rule", str(rule_id))
    return _rule_out(rule)


@router.delete("/api/alert-rules/{rule_id}", status_code=204)
async def delete_alert_rule(rule_id: RuleId, state: State) -> Response:
    if not await actions.delete_rule(state, rule_id):
        not_found("alert rule", str(rule_id))
    return Response(status_code=204)


@router.post("/api/alert-rules/{rule_id}/test", response_model=TestOut)
async def test_alert_rule(rule_id: RuleId, state: State) -> TestOut:
    """Send a test notification to each of the rule's channels now; each channel's outcome."""
    with state.engines.reader.connect() as conn:
        rule = store.get_rule(conn, rule_id=rule_id, secrets=True)
    if rule is None:
        not_found("alert rule", str(rule_id))
    title = f"[trainboard] TEST: {rule['name']}"
    body = f"A test of the alert rule {rule['name']!r} ({conditions.describe(conditions.parse(rule['condition']))})."
    payload = {"event": "test", "rule": {"id": rule["id"], "name": rule["name"]}, "title": title, "message": body}

    async def one(url: str) -> TestResult:
        error = await asyncio.to_thread(channel_check.send, url, title=title, body=body, level="info", payload=payload)
        return TestResult(channel=store.mask_channel(url), ok=error is None, error=error)

    return TestOut(results=list(await asyncio.gather(*(one(u) for u in rule["channels"]))))


@router.get("/api/alerts", response_model=AlertList)
def list_alerts(
    state: State,
    run_id: Annotated[str | None, Query(max_length=64)] = None,
    rule_id: Annotated[int | None, Query(ge=1, le=2**53 - 1)] = None,
    alert_state: Annotated[str | None, Query(alias="state", pattern="^(firing|resolved|acknowledged)$")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> AlertList:
    """Newest first, with each alert's deliveries (channel, outcome, attempts, last error)."""
    with state.engines.reader.connect() as conn:
        rows, total = store.list_alerts(conn, run_id=run_id, rule_id=rule_id, state=alert_state, limit=limit)
        deliveries = outbox.of_alerts(conn, alert_ids=[int(r["id"]) for r in rows])
    return AlertList(alerts=[_alert_out(r, deliveries[int(r["id"])]) for r in rows], total=total)


@router.post("/api/alerts/{alert_id}/ack", response_model=AlertOut)
async def acknowledge_alert(alert_id: RuleId, state: State, caller: Caller) -> AlertOut:
    """Acknowledge: someone is on it (no reminders); it still resolves when the condition ends."""

    alert, deliveries = await actions.acknowledge(state, alert_id, caller.user)
    if alert is None:
        not_found("alert", str(alert_id))
    return _alert_out(alert, deliveries)


@router.post("/api/runs/{run_id}/alerts", status_code=201, response_model=AlertOut)
async def send_run_alert(run_id: RunId, body: ExplicitAlertIn, state: State) -> AlertOut:
    """An alert sent by the training code (``monitor.alert``): through the channels of the rules that apply
    to the run (its own and its project's)."""

    alert = await actions.explicit_alert(
        state, run_id, title=body.title, text=body.text, level=body.level, client_id=body.id
    )
    return _alert_out(alert, [])
