"""Projects as the runs table sees them: their runs, and the union of their config keys, metric keys and tags
(the column picker's choices), read from the flattened config, the metric summaries and the tags."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, select, text

from trainboard.server.store.tables import runs


def list_projects(conn: Connection) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(runs.c.project, func.count(), func.max(runs.c.start_time))
        .group_by(runs.c.project)
        .order_by(runs.c.project)
    )
    return [{"name": p, "runs": n, "last_start": t} for p, n, t in rows]


def _distinct(conn: Connection, *, table: str, column: str, project: str | None) -> list[str]:
    """Distinct values of an indexed (leading) column, by a skip scan: one index seek per value, so the cost
    follows the number of distinct keys, not of rows; with ``project``, only values some run of it has."""
    in_project = (
        ""
        if project is None
        # a scalar subquery with LIMIT, not EXISTS: PostgreSQL would turn EXISTS into a join over every row
        else f"AND (SELECT 1 FROM {table} t JOIN runs r ON r.id = t.run_id "
        f"WHERE t.{column} = k.v AND r.project = :project LIMIT 1) IS NOT NULL"
    )
    sql = (
        f"WITH RECURSIVE k(v) AS (SELECT MIN({column}) FROM {table} UNION ALL "
        f"SELECT (SELECT MIN({column}) FROM {table} WHERE {column} > k.v) FROM k WHERE k.v IS NOT NULL) "
        f"SELECT v FROM k WHERE v IS NOT NULL {in_project} ORDER BY v"
    )
    return [r[0] for r in conn.execute(text(sql), {"project": project} if project is not None else {})]


def columns(conn: Connection, *, project: str | None) -> dict[str, list[str]]:
    """Sorted distinct config keys, metric keys and tags over the project's runs (all runs for ``None``)."""
    return {
        "config_keys": _distinct(conn, table="run_config", column="key", project=project),
        "metric_keys": _distinct(conn, table="run_metric_summaries", column="key", project=project),
        "tags": _distinct(conn, table="run_tags", column="tag", project=project),
    }
