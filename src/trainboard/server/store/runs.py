"""Run records: create (idempotent by client-made id), read, list, update, delete."""

from __future__ import annotations

import json
import time
from typing import Any

from sqlalchemy import ColumnElement, Connection, delete, func, insert, or_, select, update

from trainboard.server.store import line_index, ranks, rich, run_config, run_summaries, run_tags, terminal_sizes
from trainboard.server.store.docs import load_doc
from trainboard.server.store.events import add_event
from trainboard.server.store.tables import (
    checkpoints,
    events,
    ingest_cursors,
    launches,
    log_chunks,
    log_lines,
    metric_pyramid,
    metric_segments,
    runs,
    series,
)

STATUSES = ("queued", "running", "completed", "failed", "interrupted")
FINISHED = frozenset({"completed", "failed", "interrupted"})


def _public(row: Any) -> dict[str, Any]:
    out = dict(row)
    out["config"] = load_doc(out["config"])
    return out


def get_run(conn: Connection, *, run_id: str) -> dict[str, Any] | None:
    row = conn.execute(select(runs).where(runs.c.id == run_id)).mappings().first()
    if not row:
        return None
    run = _public(row)
    run["tags"] = run_tags.tags_of(conn, run_id=run_id)
    return run


def create_run(
    conn: Connection,
    *,
    run_id: str,
    name: str,
    project: str,
    config: dict[str, Any],
    start_time: float | None = None,
    status: str = "running",
) -> tuple[dict[str, Any], bool]:
    """Create the run unless a run with this id exists; returns (run, created). A created run has
    ``feed_id``: its ``run_created`` event's id."""
    existing = get_run(conn, run_id=run_id)
    if existing is not None:
        merged = existing["config"] | config
        if merged != existing["config"]:  # e.g. the SDK inside `trainboard run` adds its config
            conn.execute(update(runs).where(runs.c.id == run_id).values(config=json.dumps(merged)))
            run_config.replace_config(conn, run_id=run_id, config=merged)
            existing["config"] = merged
        if existing["status"] == "queued" and status == "running":  # a launched run: `trainboard run` took over
            result = update_run(
                conn, run_id=run_id, changes={"status": "running"}, reason="started: trainboard run took over"
            )
            assert result is not None
            existing = result[1]
        return existing, False
    now = time.time()
    conn.execute(
        insert(runs).values(
            id=run_id,
            name=name,
            project=project,
            status=status,
            config=json.dumps(config),
            start_time=now if start_time is None else start_time,
            created_at=now,
            heartbeat_time=now,
            end_time=now if status in FINISHED else None,
        )
    )
    run_config.replace_config(conn, run_id=run_id, config=config)
    created = add_event(conn, run_id=run_id, kind="run_created", message=f"run {name!r} created ({status})")
    run = get_run(conn, run_id=run_id)
    assert run is not None
    run["feed_id"] = int(created["id"])  # the run_created message's /ws id (stream.publish)
    return run, True


def list_runs(
    conn: Connection,
    *,
    status: str | None = None,
    project: str | None = None,
    search: str | None = None,
    name: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """Runs, newest start first, with the total matching count."""
    conds: list[ColumnElement[bool]] = []
    if status:
        conds.append(runs.c.status.in_(status.split(",")))
    if project:
        conds.append(runs.c.project == project)
    if name:
        conds.append(runs.c.name == name)
    if search:
        pattern = "%" + search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        conds.append(
            or_(
                runs.c.name.ilike(pattern, escape="\\"),
                runs.c.project.ilike(pattern, escape="\\"),
                runs.c.id.ilike(pattern, escape="\\"),
            )
        )
    total = conn.execute(select(func.count()).select_from(runs).where(*conds)).scalar_one()
    rows = conn.execute(
        select(runs).where(*conds).order_by(runs.c.start_time.desc(), runs.c.id).limit(limit).offset(offset)
    ).mappings()
    return [_public(r) for r in rows], total


def update_run(
    conn: Connection,
    *,
    run_id: str,
    changes: dict[str, Any],
    reason: str | None = None,
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """Apply ``changes`` (name, project, config, status, exit_code, end_time, notes, archived, tags: the
    full list); returns (old, new). A status change's ``new`` has ``feed_id``: its event's id."""
    old = get_run(conn, run_id=run_id)
    if old is None:
        return None
    values = dict(changes)
    tags = values.pop("tags", None)
    if tags is not None:
        run_tags.set_tags(conn, run_id=run_id, tags=tags)
    if "config" in values:
        run_config.replace_config(conn, run_id=run_id, config=values["config"])
        values["config"] = json.dumps(values["config"])
    new_status = values.get("status")
    feed_id = None
    if new_status and new_status != old["status"]:
        if new_status in FINISHED:
            values.setdefault("end_time", time.time())
        else:
            values["end_time"] = None
            values["exit_code"] = None
            values["heartbeat_time"] = time.time()
        suffix = f" ({reason})" if reason else ""
        feed_id = add_event(
            conn,
            run_id=run_id,
            kind="status_change",
            message=f"status {old['status']} -> {new_status}{suffix}",
            data={
                "old_status": old["status"],
                "new_status": new_status,
                "exit_code": values.get("exit_code"),
                "reason": reason,
            },
        )["id"]
        if new_status == "running" and old["status"] != "queued":  # queued -> running is a start, not a resume
            add_event(
                conn,
                run_id=run_id,
                kind="resumed",
                message=f"run resumed{suffix}",
                data={"previous_status": old["status"]},
            )
    if values:
        conn.execute(update(runs).where(runs.c.id == run_id).values(**values))
    new = get_run(conn, run_id=run_id)
    assert new is not None
    if feed_id is not None:
        new["feed_id"] = int(feed_id)  # the status_change message's /ws id (stream.publish)
    return old, new


def interrupted_by_heartbeat(conn: Connection, *, run_id: str) -> bool:
    """Whether the run's latest status change was the heartbeat watchdog's."""
    row = conn.execute(
        select(events.c.data)
        .where(events.c.run_id == run_id, events.c.kind == "status_change")
        .order_by(events.c.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return False
    return str(json.loads(row[0]).get("reason") or "").startswith(HEARTBEAT_REASON)


HEARTBEAT_REASON = "no heartbeat"


def touch(conn: Connection, *, run_id: str, at: float | None = None) -> bool:
    """Record a heartbeat; returns False for an unknown run."""
    result = conn.execute(
        update(runs).where(runs.c.id == run_id).values(heartbeat_time=time.time() if at is None else at)
    )
    return bool(result.rowcount)


def delete_run(conn: Connection, *, run_id: str) -> dict[str, int] | None:
    """Delete a run and everything stored for it; returns row counts removed."""
    if get_run(conn, run_id=run_id) is None:
        return None
    series_ids = select(series.c.id).where(series.c.run_id == run_id).scalar_subquery()
    points = conn.execute(
        select(func.coalesce(func.sum(metric_segments.c.n), 0)).where(metric_segments.c.series_id.in_(series_ids))
    ).scalar_one()
    conn.execute(delete(metric_segments).where(metric_segments.c.series_id.in_(series_ids)))
    conn.execute(delete(metric_pyramid).where(metric_pyramid.c.series_id.in_(series_ids)))
    removed = {
        "metric_points": int(points),
        "series": conn.execute(delete(series).where(series.c.run_id == run_id)).rowcount,
        "log_chunks": conn.execute(delete(log_chunks).where(log_chunks.c.run_id == run_id)).rowcount,
        "log_lines": conn.execute(delete(log_lines).where(log_lines.c.run_id == run_id)).rowcount,
        "terminal_sizes": terminal_sizes.delete_run(conn, run_id=run_id),
        "log_index_state": line_index.delete_run(conn, run_id=run_id),
        "checkpoints": conn.execute(delete(checkpoints).where(checkpoints.c.run_id == run_id)).rowcount,
        "events": conn.execute(delete(events).where(events.c.run_id == run_id)).rowcount,
        "rich_values": rich.delete_run(conn, run_id=run_id),
    }
    conn.execute(delete(ingest_cursors).where(ingest_cursors.c.run_id == run_id))
    conn.execute(delete(launches).where(launches.c.run_id == run_id))
    for part in (run_tags, run_config, run_summaries):
        part.delete_run(conn, run_id=run_id)
    ranks.delete_run(conn, run_id=run_id)
    conn.execute(delete(runs).where(runs.c.id == run_id))
    return removed


def stale_running(conn: Connection, *, older_than: float) -> list[dict[str, Any]]:
    """Running runs whose last heartbeat is before ``older_than`` (epoch seconds)."""
    rows = conn.execute(select(runs).where(runs.c.status == "running", runs.c.heartbeat_time < older_than)).mappings()
    return [_public(r) for r in rows]
