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
from trainboard.server.runs_query.errors import QueryError
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
    """Raises :class:`~trainboard.server.runs_query.QueryError` for a bad filter, sort or cursor.

    The page is found on narrow rows (id and sort value: what the filter and the order need), and only its
    runs are read whole; the total is counted for the first page and carried by the cursor after it."""
    key = sorting.parse_sort(q.sort)
    query_digest = cursors.digest(q.filter, q.status, q.project, q.name, q.search)
    after = cursors.decode(q.cursor, sort=key.text, query=query_digest) if q.cursor else None
    now = after.now if after is not None else time.time()
    tree = parse_filter(q.filter)
    conds = [compile_filter(tree, now=now), *_plain(q)]
    if not mentions(tree, "archived"):
        conds.append(runs.c.archived.is_(False))  # archived runs are hidden unless the filter asks about them
    plan = sorting.plan(conn, key, now=now)
    # The first page counts the matches in a statement of its own: a window count in the page's statement
    # (COUNT(*) OVER ()) makes the database read and sort every match before the LIMIT -- at 100,000 runs
    # seconds under load, where the page alone walks an index and stops after limit + 1 rows.
    total = (
        conn.execute(select(func.count()).select_from(runs).where(*conds)).scalar_one()
        if after is None
        else after.total
    )
    stmt = select(runs.c.id, plan.expr.label("sort_value"))
    stmt = stmt.select_from(plan.source).where(*conds)
    if after is not None:
        value = after.value
        if value == cursors.LOOKUP:  # a long text value: the run the last page ended at holds it
            row = conn.execute(select(plan.expr).select_from(plan.source).where(runs.c.id == after.run_id)).first()
            if row is None:
                raise QueryError(
                    "the run the previous page ended at is gone: start again without a cursor", 0, "cursor"
                )
            value = row[0]
        stmt = stmt.where(sorting.after(plan, key, value, after.run_id))
    elif q.offset:
        stmt = stmt.offset(q.offset)
    found = [tuple(r) for r in conn.execute(stmt.order_by(*sorting.order_by(plan, key)).limit(q.limit + 1))]
    next_cursor = None
    if len(found) > q.limit:
        found = found[: q.limit]
        last_id, last_value = found[-1]
        next_cursor = cursors.encode(
            cursors.Cursor(key.text, now, _json_value(last_value), last_id, query_digest, total)
        )
    ids = [row[0] for row in found]
    out = _whole_runs(conn, ids)
    tags = run_tags.tags_of_runs(conn, run_ids=ids)
    summaries = load_summaries(conn, run_ids=ids, keys=q.summary) if q.summary else {}
    for run in out:
        run["tags"] = tags.get(run["id"], [])
        if q.summary:
            run["summary"] = summaries.get(run["id"], {})
    return Page(out, total, next_cursor)


#: What a listed run shows (``views.public_run``): the runs table's page leaves out the bookkeeping columns.
_LISTED = [
    runs.c[name]
    for name in (
        "id",
        "name",
        "project",
        "status",
        "config",
        "start_time",
        "end_time",
        "exit_code",
        "heartbeat_time",
        "last_step",
        "log_size",
        "created_by",
        "notes",
        "archived",
    )
]
_LISTED_NAMES = tuple(c.name for c in _LISTED)
_CONFIG = _LISTED_NAMES.index("config")


def _whole_runs(conn: Connection, ids: list[str]) -> list[dict[str, Any]]:
    """The runs ``ids``, in that order (plain rows into dicts: per-row mapping objects cost more than the
    query on a page of 1,000)."""
    by_id: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ids), 500):
        for row in conn.execute(select(*_LISTED).where(runs.c.id.in_(ids[start : start + 500]))):
            values = list(row)
            values[_CONFIG] = load_doc(values[_CONFIG])
            by_id[values[0]] = dict(zip(_LISTED_NAMES, values, strict=True))
    return [by_id[i] for i in ids if i in by_id]


def _json_value(value: Any) -> Any:
    if isinstance(value, bool | str) or value is None:
        return value
    return float(value)


def load_summaries(conn: Connection, *, run_ids: list[str], keys: list[str]) -> dict[str, dict[str, dict[str, Any]]]:
    """run id -> metric key -> {last, min, max, count, step} for ``keys`` (``["*"]``: every key)."""
    s = run_metric_summaries
    out: dict[str, dict[str, dict[str, Any]]] = {}
    columns = (s.c.run_id, s.c.key, s.c.last_val, s.c.min_val, s.c.max_val, s.c.n, s.c.last_step)
    for start in range(0, len(run_ids), 500):
        stmt = select(*columns).where(s.c.run_id.in_(run_ids[start : start + 500]))
        if keys != ["*"]:
            stmt = stmt.where(s.c.key.in_(keys))
        for run_id, key, last, low, high, n, step in conn.execute(stmt):
            if run_id not in out:
                out[run_id] = {}
            out[run_id][key] = {
                "last": _finite_or_token(last),
                "min": _finite_or_token(low),
                "max": _finite_or_token(high),
                "count": n,
                "step": step,
            }
    return out


def _finite_or_token(value: float | None) -> float | str | None:
    if value is None or math.isfinite(value):
        return value
    return "Infinity" if value > 0 else "-Infinity"
