"""Projects as the runs table sees them: their runs, and the union of their config keys, metric keys and tags
(the column picker's choices), read from the flattened config, the metric summaries and the tags."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, select

from trainboard.server.store.tables import run_config, run_metric_summaries, run_tags, runs


def list_projects(conn: Connection) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(runs.c.project, func.count(), func.max(runs.c.start_time))
        .group_by(runs.c.project)
        .order_by(runs.c.project)
    )
    return [{"name": p, "runs": n, "last_start": t} for p, n, t in rows]


def columns(conn: Connection, *, project: str | None) -> dict[str, list[str]]:
    """Sorted distinct config keys, metric keys and tags over the project's runs (all runs for ``None``)."""
    in_project = select(runs.c.id) if project is None else select(runs.c.id).where(runs.c.project == project)
    ids = in_project.scalar_subquery()
    out: dict[str, list[str]] = {}
    for name, table, col in (
        ("config_keys", run_config, run_config.c.key),
        ("metric_keys", run_metric_summaries, run_metric_summaries.c.key),
        ("tags", run_tags, run_tags.c.tag),
    ):
        stmt = select(col).distinct().order_by(col)
        if project is not None:
            stmt = stmt.where(table.c.run_id.in_(ids))
        out[name] = [r[0] for r in conn.execute(stmt)]
    return out
