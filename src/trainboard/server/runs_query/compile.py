"""Filter trees as SQLAlchemy conditions over ``runs``.

Every leaf is two-valued (true or false, never NULL): a run without the field (no such config key, metric
or end time) fails every positive comparison and passes its negation, so ``not (a < 1)`` and ``a >= 1``
differ exactly by the runs missing ``a``, as a user reading the expression expects. Config keys, metrics
and tags are ``runs.id IN (SELECT run_id ...)`` sets read from their tables' (key, value, run_id) indexes: one
index range per leaf, where a correlated ``EXISTS`` made SQLite probe each of the 10,000 runs per leaf (twice as
slow; PostgreSQL plans both as the same semi-join).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import ColumnElement, and_, func, literal, not_, or_, select, true

from trainboard.server.runs_query import fields
from trainboard.server.runs_query.errors import QueryError
from trainboard.server.runs_query.fields import Field
from trainboard.server.runs_query.nodes import And, In, Node, Not, Op, Or, Value
from trainboard.server.store.tables import run_config, run_metric_summaries, run_tags, runs

Cond = ColumnElement[bool]
_NEGATIONS: dict[Op, Op] = {"!=": "=", "!~": "~", "!contains": "contains"}
_ORDER_OPS = ("<", "<=", ">", ">=")
_AGG_COLUMNS = {"last": "last_val", "min": "min_val", "max": "max_val", "count": "n"}


def _cmp(column: Any, op: Op, value: Any) -> Cond:
    if op == "=":
        return column == value  # type: ignore[no-any-return]
    if op == "<":
        return column < value  # type: ignore[no-any-return]
    if op == "<=":
        return column <= value  # type: ignore[no-any-return]
    if op == ">":
        return column > value  # type: ignore[no-any-return]
    if op == ">=":
        return column >= value  # type: ignore[no-any-return]
    if op in ("~", "contains"):
        return column.icontains(value, autoescape=True)  # type: ignore[no-any-return]
    raise AssertionError(op)  # pragma: no cover


def duration_expr(now: float) -> Any:
    """Seconds from start to end (to ``now`` while the run has not ended)."""
    return func.coalesce(runs.c.end_time, literal(now)) - runs.c.start_time


class Compiler:
    def __init__(self, now: float) -> None:
        self.now = now

    def node(self, node: Node) -> Cond:
        if isinstance(node, And):
            return and_(*(self.node(n) for n in node.items))
        if isinstance(node, Or):
            return or_(*(self.node(n) for n in node.items))
        if isinstance(node, Not):
            return not_(self.node(node.item))
        if isinstance(node, In):
            field = fields.resolve(node.name)
            if field.type == "tags":
                found: Cond = self._tags(field, "=", node.values)
            else:
                found = or_(*(self._positive(field, "=", v, node.name.text) for v in node.values))
            return not_(found) if node.negated else found
        field = fields.resolve(node.name)
        positive = _NEGATIONS.get(node.op)
        if positive is not None:
            return not_(self._leaf(field, positive, node.value, node.name.text))
        return self._leaf(field, node.op, node.value, node.name.text)

    def _leaf(self, field: Field, op: Op, value: Value, shown: str) -> Cond:
        if field.type == "tags":
            return self._tags(field, op, (value,))
        return self._positive(field, op, value, shown)

    def _tags(self, field: Field, op: Op, values: tuple[Value, ...]) -> Cond:
        if op in _ORDER_OPS:
            raise QueryError(f"tags take =, !=, contains, ~ or in, not '{op}'", values[0].pos)
        if op == "~":
            match = or_(*(run_tags.c.tag.icontains(v.raw, autoescape=True) for v in values))
        else:  # = and contains: a tag equal to the value
            match = run_tags.c.tag.in_([v.raw for v in values])
        return runs.c.id.in_(select(run_tags.c.run_id).where(match))

    def _positive(self, field: Field, op: Op, value: Value, shown: str) -> Cond:
        if field.type == "config":
            return self._config(field, op, value)
        if field.type == "metric":
            column = run_metric_summaries.c[_AGG_COLUMNS[field.agg]]
            if op in ("~", "contains"):
                raise QueryError(f"metric {field.key!r} compares with numbers: use = != < <= > >=", value.pos)
            probe = _cmp(column, op, fields.number(shown, value))
            return runs.c.id.in_(
                select(run_metric_summaries.c.run_id).where(run_metric_summaries.c.key == field.key, probe)
            )
        return self._column(field, op, value, shown)

    def _config(self, field: Field, op: Op, value: Value) -> Cond:
        if isinstance(value.value, float) and op not in ("~", "contains"):
            probe = and_(run_config.c.num.is_not(None), _cmp(run_config.c.num, op, value.value))
        else:
            probe = and_(run_config.c.text.is_not(None), _cmp(run_config.c.text, op, value.raw))
        return runs.c.id.in_(select(run_config.c.run_id).where(run_config.c.key == field.key, probe))

    def _column(self, field: Field, op: Op, value: Value, shown: str) -> Cond:
        text_ops = ("~", "contains")
        if field.type == "text":
            column = runs.c[field.key]
            return and_(column.is_not(None), _cmp(column, op, value.raw))
        if field.type == "status":
            if op in text_ops:
                return _cmp(runs.c.status, op, value.raw)
            return _cmp(runs.c.status, op, fields.status_value(value) if op == "=" else value.raw.lower())
        if op in text_ops:
            raise QueryError(f"{shown} takes = != < <= > >= or in, not '{op}'", value.pos)
        if field.type == "bool":
            if op != "=":
                raise QueryError(f"archived takes = or != (true or false), not '{op}'", value.pos)
            return runs.c.archived.is_(True) if fields.bool_value(value) else runs.c.archived.is_(False)
        converters: dict[str, Callable[[], float]] = {
            "time": lambda: fields.time_value(shown, value),
            "duration": lambda: fields.duration_value(value),
            "number": lambda: fields.number(shown, value),
        }
        target = converters[field.type]()
        expr: Any = duration_expr(self.now) if field.type == "duration" else runs.c[field.key]
        if field.type == "duration":
            return _cmp(expr, op, target)
        return and_(expr.is_not(None), _cmp(expr, op, target))


def mentions(node: Node | None, field_name: str) -> bool:
    """Whether the tree names the run field ``field_name`` anywhere."""
    if node is None:
        return False
    if isinstance(node, And | Or):
        return any(mentions(n, field_name) for n in node.items)
    if isinstance(node, Not):
        return mentions(node.item, field_name)
    return node.name.text == field_name


def compile_filter(node: Node | None, *, now: float) -> Cond:
    """The condition for ``node`` (true for no filter)."""
    if node is None:
        return true()
    return Compiler(now).node(node)
