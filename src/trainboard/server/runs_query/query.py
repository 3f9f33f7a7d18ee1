"""One page of runs: filter, sort, keyset cursor, and the requested metric summaries of the page."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Connection, func, or_, select

from trainboard.server.runs_query import cursor as cursors
from trainboard.server.runs_query import sorting
from trainboard.server.runs_query.compile import compile_filter, mentions
from trainboard.server.runs_query.parse import parse_filter
from trainboard.server.store import run_tags
from trainboard.server.store.docs import load_doc
from trainboard.server.store.tables import run_metric_summaries, runs


@dataclass
class RunsQuery:
    filter: str = ""
    sort: str | None = None
    cursor: str | None = None
    limit: int = 100
    offset: int = 0
    # the list's older plain parameters, still honoured
    status: str | None = None
    project: str | None = None
    name: str | None = None
    search: str | None = None
    #: metric keys whose summaries each run carries; ``["*"]``: all of them
    summary: list[str] = field(default_factory=list)


@dataclass
class Page:
    runs: list[dict[str, Any]]
    total: int
    next_cursor: str | None


def _plain(q: RunsQuery) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = []
    if q.status:
        conds.append(runs.c.status.in_(q.status.split(",")))
    if q.project:
        conds.append(runs.c.project == q.project)
    if q.name:
        conds.append(runs.c.name == q.name)
    if q.search:
        conds.append(
            or_(
                runs.c.name.icontains(q.search, autoescape=True),
                runs.c.project.icontains(q.search, autoescape=True),
                runs.c.id.icontains(q.search, autoescape=True),
            )
        )
    return conds


def run_page(conn: Connection, q: RunsQuery) -> Page:
    """Raises :class:`~trainboard.server.runs_query.QueryError` for a bad filter, sort or cursor."""
    key = sorting.parse_sort(q.sort)
    after = cursors.decode(q.cursor, sort=key.text) if q.cursor else None
    now = after.now if after is not None else time.time()
    tree = parse_filter(q.filter)
    conds = [compile_filter(tree, now=now), *_plain(q)]
    if not mentions(tree, "archived"):
        conds.append(runs.c.archived.is_(False))  # archived runs are hidden unless the filter asks about them
    total = conn.execute(select(func.count()).select_from(runs).where(*conds)).scalar_one()
    plan = sorting.plan(conn, key, now=now)
    stmt = select(runs, plan.expr.label("sort_value")).select_from(plan.source).where(*conds)
    if after is not None:
        stmt = stmt.where(sorting.after(plan, key, after.value, after.run_id))
    elif q.offset:
        stmt = stmt.offset(q.offset)
    rows = conn.execute(stmt.order_by(*sorting.order_by(plan, key)).limit(q.limit + 1)).mappings().all()
    next_cursor = None
    if len(rows) > q.limit:
        rows = rows[: q.limit]
        last = rows[-1]
        next_cursor = cursors.encode(cursors.Cursor(key.text, now, _json_value(last["sort_value"]), last["id"]))
    out = []
    for row in rows:
        run = dict(row)
        run.pop("sort_value", None)
        run["config"] = load_doc(run["config"])
        out.append(run)
    ids = [r["id"] for r in out]
    tags = run_tags.tags_of_runs(conn, run_ids=ids)
    summaries = load_summaries(conn, run_ids=ids, keys=q.summary) if q.summary else {}
    for run in out:
        run["tags"] = tags.get(run["id"], [])
        if q.summary:
            run["summary"] = summaries.get(run["id"], {})
    return Page(out, total, next_cursor)


def _json_value(value: Any) -> Any:
    if isinstance(value, bool | str) or value is None:
        return value
    return float(value)


def load_summaries(conn: Connection, *, run_ids: list[str], keys: list[str]) -> dict[str, dict[str, dict[str, Any]]]:
    """run id -> metric key -> {last, min, max, count, step} for ``keys`` (``["*"]``: every key)."""
    s = run_metric_summaries
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for start in range(0, len(run_ids), 500):
        stmt = select(s).where(s.c.run_id.in_(run_ids[start : start + 500]))
        if keys != ["*"]:
            stmt = stmt.where(s.c.key.in_(keys))
        for row in conn.execute(stmt).mappings():
            out.setdefault(row["run_id"], {})[row["key"]] = {
                "last": _finite_or_token(row["last_val"]),
                "min": _finite_or_token(row["min_val"]),
                "max": _finite_or_token(row["max_val"]),
                "count": row["n"],
                "step": row["last_step"],
            }
    return out


def _finite_or_token(value: float | None) -> float | str | None:
    if value is None or math.isfinite(value):
        return value
    return "Infinity" if value > 0 else "-Infinity"
