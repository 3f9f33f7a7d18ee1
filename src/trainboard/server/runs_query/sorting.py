"""Sort keys: ``name``, ``-start_time``, ``config.lr``, ``val/loss`` (last value), ``-val/loss.min``...

A leading ``-`` sorts descending. Runs missing the key (no such metric or config key, a NaN last value, a
running run's end time) come last in both directions; ties are broken by run id, so keyset paging over the
(missing, value, id) order is stable. A config key sorts by its numbers when any run has a number there,
else by its text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, FromClause, and_, or_, select

from trainboard.server.runs_query import fields
from trainboard.server.runs_query.compile import duration_expr
from trainboard.server.runs_query.errors import QueryError
from trainboard.server.runs_query.fields import Field
from trainboard.server.runs_query.nodes import Name
from trainboard.server.store.costs import cost_expr, run_costs
from trainboard.server.store.tables import run_config, run_metric_summaries, runs

DEFAULT_SORT = "-start_time"
_AGG_COLUMNS = {"last": "last_val", "min": "min_val", "max": "max_val", "count": "n"}


@dataclass(frozen=True)
class SortKey:
    text: str  # as given (the cursor names it)
    descending: bool
    field: Field


def parse_sort(text: str | None) -> SortKey:
    text = (text or "").strip() or DEFAULT_SORT
    if "\x00" in text:
        raise QueryError("NUL characters cannot be stored or compared", text.index("\x00"), "sort")
    descending = text.startswith("-")
    name = text[1:].strip() if descending or text.startswith("+") else text
    if not name:
        raise QueryError("expected a field after '-'", len(text), "sort")
    field = Field("cost", "cost") if name == "cost" else fields.resolve(Name(name, len(text) - len(name)))
    if field.type == "tags":
        raise QueryError("runs cannot be sorted by tags", 0, "sort")
    return SortKey(text, descending, field)


@dataclass(frozen=True)
class SortPlan:
    source: FromClause  # runs, joined with what the key reads
    expr: Any  # the sort value (NULL: missing)


def plan(conn: Connection, key: SortKey, *, now: float) -> SortPlan:
    field = key.field
    if field.type == "metric":
        summary = run_metric_summaries.alias("sort_summary")
        joined = runs.outerjoin(summary, and_(summary.c.run_id == runs.c.id, summary.c.key == field.key))
        return SortPlan(joined, summary.c[_AGG_COLUMNS[field.agg]])
    if field.type == "config":
        numeric = conn.execute(
            select(run_config.c.num).where(run_config.c.key == field.key, run_config.c.num.is_not(None)).limit(1)
        ).first()
        config = run_config.alias("sort_config")
        joined = runs.outerjoin(config, and_(config.c.run_id == runs.c.id, config.c.key == field.key))
        return SortPlan(joined, config.c.num if numeric is not None else config.c.text)
    if field.type == "duration":
        return SortPlan(runs, duration_expr(now))
    if field.type == "cost":  # USD so far (store.costs): runs without a known price come last
        return SortPlan(runs.outerjoin(run_costs, run_costs.c.run_id == runs.c.id), cost_expr(now))
    return SortPlan(runs, runs.c[field.key])


def order_by(plan_: SortPlan, key: SortKey) -> list[Any]:
    value = plan_.expr.desc() if key.descending else plan_.expr.asc()
    return [plan_.expr.is_(None), value, runs.c.id]


def after(plan_: SortPlan, key: SortKey, value: Any, run_id: str) -> Any:
    """The condition for the runs after (value, run_id) in the order."""
    expr = plan_.expr
    if value is None:
        return and_(expr.is_(None), runs.c.id > run_id)
    beyond = expr < value if key.descending else expr > value
    return or_(expr.is_(None), and_(expr.is_not(None), or_(beyond, and_(expr == value, runs.c.id > run_id))))
