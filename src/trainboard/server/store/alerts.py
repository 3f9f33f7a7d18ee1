"""Alert rules and alerts (episodes): plain functions over the alert tables, keyword-only arguments.

Channel URLs are secrets (tokens, passwords, webhook keys): stored in clear because the leader must send
to them, but every function meant for the API returns them masked (``mask_channel``).
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Connection, delete, func, insert, select, update

from trainboard.server.store.alerts_tables import alert_progress, alert_rules, alerts

OPEN_STATES = ("pending", "firing")


def mask_channel(url: str) -> str:
    """A channel URL as it may be shown: the scheme and a host that looks like a host name, nothing else."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    shown = host if ("." in host or host == "localhost") else (host[:3] + "…" if host else "")
    if parts.port and shown == host:
        shown += f":{parts.port}"
    rest = url[len(parts.scheme) + 3 :] if "://" in url else url
    return f"{parts.scheme}://{shown}" + ("/…" if rest.strip("/") != shown else "")


def _rule(row: Any, *, secrets: bool = False) -> dict[str, Any]:
    out = dict(row)
    out["condition"] = json.loads(out["condition"])
    channels = json.loads(out["channels"])
    out["channels"] = channels if secrets else [mask_channel(c) for c in channels]
    out["enabled"] = bool(out["enabled"])
    return out


def create_rule(
    conn: Connection,
    *,
    name: str,
    project: str | None,
    run_id: str | None,
    condition: dict[str, Any],
    for_seconds: float,
    repeat_seconds: float | None,
    channels: list[str],
    created_by: str | None,
    enabled: bool = True,
) -> dict[str, Any]:
    result = conn.execute(
        insert(alert_rules).values(
            name=name,
            project=project,
            run_id=run_id,
            condition=json.dumps(condition),
            for_seconds=for_seconds,
            repeat_seconds=repeat_seconds,
            channels=json.dumps(channels),
            enabled=enabled,
            created_by=created_by,
            created_at=time.time(),
        )
    )
    pk = result.inserted_primary_key
    assert pk is not None
    rule_id = int(pk[0])
    found = get_rule(conn, rule_id=rule_id)
    assert found is not None
    return found


def get_rule(conn: Connection, *, rule_id: int, secrets: bool = False) -> dict[str, Any] | None:
    row = conn.execute(select(alert_rules).where(alert_rules.c.id == rule_id)).mappings().first()
    return _rule(row, secrets=secrets) if row else None


def list_rules(conn: Connection, *, project: str | None = None, run_id: str | None = None) -> list[dict[str, Any]]:
    query = select(alert_rules).order_by(alert_rules.c.id)
    if project is not None:
        query = query.where(alert_rules.c.project == project)
    if run_id is not None:
        query = query.where(alert_rules.c.run_id == run_id)
    return [_rule(r) for r in conn.execute(query).mappings()]


def enabled_rules(conn: Connection) -> list[dict[str, Any]]:
    """Every enabled rule, channels in clear (for the engine and the leader; never for the API)."""
    query = select(alert_rules).where(alert_rules.c.enabled.is_(True)).order_by(alert_rules.c.id)
    return [_rule(r, secrets=True) for r in conn.execute(query).mappings()]


def update_rule(conn: Connection, *, rule_id: int, changes: dict[str, Any]) -> dict[str, Any] | None:
    """``changes``: enabled, muted_until, name, for_seconds, repeat_seconds."""
    if changes:
        conn.execute(update(alert_rules).where(alert_rules.c.id == rule_id).values(**changes))
    return get_rule(conn, rule_id=rule_id)


def delete_rule(conn: Connection, *, rule_id: int) -> bool:
    """Delete the rule; its open alerts are resolved (their history stays)."""
    done = conn.execute(delete(alert_rules).where(alert_rules.c.id == rule_id)).rowcount > 0
    if done:
        conn.execute(
            update(alerts)
            .where(alerts.c.rule_id == rule_id, alerts.c.state.in_(OPEN_STATES))
            .values(state="resolved", resolved_at=time.time())
        )
    return done


def _alert(row: Any) -> dict[str, Any]:
    out = dict(row)
    if out["state"] == "firing" and out["acked_at"] is not None:
        out["state"] = "acknowledged"
    return out


def open_alert(conn: Connection, *, rule_id: int, run_id: str, key: str) -> dict[str, Any] | None:
    row = (
        conn.execute(
            select(alerts)
            .where(
                alerts.c.rule_id == rule_id,
                alerts.c.run_id == run_id,
                alerts.c.key == key,
                alerts.c.state.in_(OPEN_STATES),
            )
            .order_by(alerts.c.id.desc())
            .limit(1)
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


def explicit_alert(conn: Connection, *, run_id: str, key: str) -> dict[str, Any] | None:
    """The alert a run raised itself (no rule) under ``key`` (the client's id of it), if any."""
    query = select(alerts).where(alerts.c.rule_id.is_(None), alerts.c.run_id == run_id, alerts.c.key == key)
    row = conn.execute(query.order_by(alerts.c.id).limit(1)).mappings().first()
    return _alert(row) if row else None


def open_alerts(conn: Connection) -> list[dict[str, Any]]:
    """Every pending or firing alert of a rule (the engine's starting point)."""
    query = select(alerts).where(alerts.c.state.in_(OPEN_STATES), alerts.c.rule_id.is_not(None))
    return [dict(r) for r in conn.execute(query).mappings()]


def create_alert(
    conn: Connection,
    *,
    rule_id: int | None,
    run_id: str | None,
    key: str,
    state: str,
    level: str,
    title: str,
    message: str,
    value: float | None,
    step: int | None,
    now: float,
) -> dict[str, Any]:
    result = conn.execute(
        insert(alerts).values(
            rule_id=rule_id,
            run_id=run_id,
            key=key,
            state=state,
            level=level,
            title=title,
            message=message,
            value=value,
            step=step,
            started_at=now,
            fired_at=now if state == "firing" else None,
            notified_at=now if state == "firing" else None,
        )
    )
    pk = result.inserted_primary_key
    assert pk is not None
    found = get_alert(conn, alert_id=int(pk[0]))
    assert found is not None
    return found


def set_alert(conn: Connection, *, alert_id: int, **values: Any) -> dict[str, Any] | None:
    """Change an alert's columns (state, fired_at, resolved_at, message, value, step, notified_at)."""
    conn.execute(update(alerts).where(alerts.c.id == alert_id).values(**values))
    return get_alert(conn, alert_id=alert_id)


def drop_alert(conn: Connection, *, alert_id: int) -> None:
    """Forget a pending alert whose condition stopped holding before its pending period ended."""
    conn.execute(delete(alerts).where(alerts.c.id == alert_id, alerts.c.state == "pending"))


def get_alert(conn: Connection, *, alert_id: int) -> dict[str, Any] | None:
    row = conn.execute(select(alerts).where(alerts.c.id == alert_id)).mappings().first()
    return _alert(row) if row else None


def acknowledge(conn: Connection, *, alert_id: int, by: str | None) -> dict[str, Any] | None:
    conn.execute(
        update(alerts)
        .where(alerts.c.id == alert_id, alerts.c.acked_at.is_(None))
        .values(acked_at=time.time(), acked_by=by)
    )
    return get_alert(conn, alert_id=alert_id)


def list_alerts(
    conn: Connection,
    *,
    run_id: str | None = None,
    rule_id: int | None = None,
    state: str | None = None,
    limit: int = 200,
) -> tuple[list[dict[str, Any]], int]:
    """Newest first, pending ones left out; returns (the first ``limit``, how many match in all)."""
    query = select(alerts).where(alerts.c.state != "pending")
    if run_id is not None:
        query = query.where(alerts.c.run_id == run_id)
    if rule_id is not None:
        query = query.where(alerts.c.rule_id == rule_id)
    if state == "acknowledged":
        query = query.where(alerts.c.state == "firing", alerts.c.acked_at.is_not(None))
    elif state == "firing":
        query = query.where(alerts.c.state == "firing", alerts.c.acked_at.is_(None))
    elif state is not None:
        query = query.where(alerts.c.state == state)
    rows = [_alert(r) for r in conn.execute(query.order_by(alerts.c.id.desc()).limit(limit + 1)).mappings()]
    if len(rows) <= limit:
        return rows, len(rows)
    total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    return rows[:limit], int(total)


def rules_matching(rules: list[dict[str, Any]], *, run_id: str, project: str) -> list[dict[str, Any]]:
    """The rules (from ``enabled_rules``) that apply to a run: its own, and its project's."""
    return [r for r in rules if r["run_id"] == run_id or (r["run_id"] is None and r["project"] == project)]


def put_progress(conn: Connection, *, rows: list[tuple[str, int, float, float | None]]) -> None:
    """(run_id, last_step, last_step_at, median_interval) per run: replace what is stored."""
    for run_id, step, at, median in rows:
        conn.execute(delete(alert_progress).where(alert_progress.c.run_id == run_id))
        conn.execute(
            insert(alert_progress).values(run_id=run_id, last_step=step, last_step_at=at, median_interval=median)
        )


def progress(conn: Connection, *, run_ids: list[str]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for start in range(0, len(run_ids), 500):
        query = select(alert_progress).where(alert_progress.c.run_id.in_(run_ids[start : start + 500]))
        out |= {r["run_id"]: dict(r) for r in conn.execute(query).mappings()}
    return out


def live_runs(conn: Connection) -> list[dict[str, Any]]:
    """Runs that are running or queued: id, project, status, created_at (the watcher's scope)."""
    from trainboard.server.store.tables import runs

    query = select(runs.c.id, runs.c.project, runs.c.status, runs.c.created_at).where(
        runs.c.status.in_(("running", "queued"))
    )
    return [dict(r) for r in conn.execute(query).mappings()]
