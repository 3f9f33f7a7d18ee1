"""What a filter means, checked against a reference written in Python: random expressions over fixed runs
(missing config keys and metrics, a NaN last value, tags, text and numbers mixed in one config key) select
the same runs in SQL as the reference says, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, create_engine, insert, select
from tests.support.servers import postgres_database

from trainboard.server.runs_query import QueryError
from trainboard.server.runs_query.compile import compile_filter
from trainboard.server.runs_query.nodes import And, Compare, In, Name, Node, Not, Op, Or, Value
from trainboard.server.store.tables import metadata, run_config, run_metric_summaries, run_tags, runs

NUMBERS = ["-1", "0", "0.5", "1", "2", "3"]
WORDS = ["x", "y", "alpha", "beta", "failed", "running", "completed", "a"]
FIELDS = ["config.a", "config.s", "m", "m.min", "m.max", "status", "name", "tags"]
OPS: list[Op] = ["=", "!=", "<", "<=", ">", ">=", "~", "!~", "contains", "!contains"]


@dataclass
class Run:
    id: str
    name: str
    status: str
    config: dict[str, Any]
    m: tuple[float | None, float | None, float | None] | None  # (last, min, max); None: no metric
    tags: list[str] = field(default_factory=list)


def _runs() -> list[Run]:
    out = []
    names = ["alpha", "beta", "gamma", "delta", "alphabet", "xray"]
    a_values: list[Any] = [0, 0.5, 1, 2, 3, "x", "alpha", None, True, -1]
    for i in range(24):
        config: dict[str, Any] = {}
        a = a_values[i % len(a_values)]
        if a is not None:
            config["a"] = a
        if i % 3:
            config["s"] = WORDS[i % len(WORDS)]
        m: tuple[float | None, float | None, float | None] | None = None
        if i % 5 != 4:
            last = None if i % 7 == 3 else float(i % 4)
            m = (last, float(i % 3) - 1, float(i % 4) + 1)
        tags = [t for j, t in enumerate(["x", "y", "alpha"]) if (i >> j) & 1]
        out.append(Run(f"r{i:02d}", names[i % len(names)], ["running", "completed", "failed"][i % 3], config, m, tags))
    return out


RUNS = _runs()


def _text(v: Any) -> str:
    return v if isinstance(v, str) else json.dumps(v)


def _num(v: Any) -> float | None:
    return float(v) if isinstance(v, int | float) and not isinstance(v, str) else None


def _cmp(a: Any, op: Op, b: Any) -> bool:
    if op == "=":
        return bool(a == b)
    if op == "<":
        return bool(a < b)
    if op == "<=":
        return bool(a <= b)
    if op == ">":
        return bool(a > b)
    if op == ">=":
        return bool(a >= b)
    return str(b).lower() in str(a).lower()  # ~ and contains


NEG: dict[Op, Op] = {"!=": "=", "!~": "~", "!contains": "contains"}


def positive(run: Run, name: str, op: Op, v: Value) -> bool:
    """The reference: a missing field fails every positive comparison."""
    raw = v.raw
    if name.startswith("config."):
        value = run.config.get(name[len("config.") :], None)
        if name[len("config.") :] not in run.config:
            return False
        if isinstance(v.value, float) and op not in ("~", "contains"):
            num = _num(value)
            return num is not None and _cmp(num, op, v.value)
        return _cmp(_text(value), op, raw)
    if name.startswith("m"):
        if op in ("~", "contains") or not isinstance(v.value, float):
            raise QueryError("numbers only", 0)
        if run.m is None:
            return False
        column = {"m": 0, "m.min": 1, "m.max": 2}[name]
        got = run.m[column]
        return got is not None and _cmp(got, op, v.value)
    if name == "tags":
        if op in ("<", "<=", ">", ">="):
            raise QueryError("tags", 0)
        if op == "~":
            return any(raw.lower() in t.lower() for t in run.tags)
        return raw in run.tags
    if name == "status":
        if op == "=" and raw.lower() not in ("queued", "running", "completed", "failed", "interrupted"):
            raise QueryError("status", 0)
        return _cmp(run.status, op, raw if op in ("~", "contains") else raw.lower())
    return _cmp(run.name, op, raw)  # name


def reference(node: Node, run: Run) -> bool:
    if isinstance(node, And):
        return all([reference(n, run) for n in node.items])  # every leaf evaluated: errors surface alike
    if isinstance(node, Or):
        return any([reference(n, run) for n in node.items])
    if isinstance(node, Not):
        return not reference(node.item, run)
    if isinstance(node, In):
        if node.name.text == "tags":
            found = any(v.raw in run.tags for v in node.values)
        else:
            found = any([positive(run, node.name.text, "=", v) for v in node.values])
        return not found if node.negated else found
    base = NEG.get(node.op)
    if base is not None:
        return not positive(run, node.name.text, base, node.value)
    return positive(run, node.name.text, node.op, node.value)


values = st.one_of(
    st.sampled_from(NUMBERS).map(lambda t: Value(float(t), False, 0, t)),
    st.sampled_from(WORDS).map(lambda w: Value(w, False, 0, w)),
)
leaves = st.one_of(
    st.builds(lambda f, o, v: Compare(Name(f, 0), o, v, 0), st.sampled_from(FIELDS), st.sampled_from(OPS), values),
    st.builds(
        lambda f, vs, neg: In(Name(f, 0), tuple(vs), neg, 0),
        st.sampled_from(FIELDS),
        st.lists(values, min_size=1, max_size=3),
        st.booleans(),
    ),
)
trees = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.lists(inner, min_size=2, max_size=3).map(lambda xs: And(tuple(xs), 0)),
        st.lists(inner, min_size=2, max_size=3).map(lambda xs: Or(tuple(xs), 0)),
        inner.map(lambda x: Not(x, 0)),
    ),
    max_leaves=6,
)


def _fill(engine: Engine) -> None:
    metadata.create_all(engine, tables=[runs, run_config, run_metric_summaries, run_tags])
    with engine.begin() as conn:
        for r in RUNS:
            conn.execute(
                insert(runs).values(
                    id=r.id,
                    name=r.name,
                    project="p",
                    status=r.status,
                    config=json.dumps(r.config),
                    start_time=1.0,
                    created_at=1.0,
                )
            )
            for key, value in r.config.items():
                num = _num(value)
                conn.execute(insert(run_config).values(run_id=r.id, key=key, num=num, text=_text(value)))
            if r.m is not None:
                last, low, high = r.m
                conn.execute(
                    insert(run_metric_summaries).values(
                        run_id=r.id, key="m", last_step=1, last_val=last, min_val=low, max_val=high, n=2
                    )
                )
            for tag in r.tags:
                conn.execute(insert(run_tags).values(run_id=r.id, tag=tag))


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    def build(url: str) -> Iterator[Engine]:
        eng = create_engine(url)
        _fill(eng)
        try:
            yield eng
        finally:
            eng.dispose()

    if request.param == "sqlite":
        yield from build("sqlite://")
    else:
        with postgres_database() as url:
            yield from build(url.replace("postgresql://", "postgresql+psycopg://", 1))


def selected(engine: Engine, tree: Node) -> set[str] | None:
    try:
        cond = compile_filter(tree, now=2.0)
    except QueryError:
        return None
    with engine.connect() as conn:
        return {r[0] for r in conn.execute(select(runs.c.id).where(cond))}


def expected(tree: Node) -> set[str] | None:
    try:
        return {r.id for r in RUNS if reference(tree, r)}
    except QueryError:
        return None


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(trees)
def test_sql_selects_what_the_reference_selects(engine: Engine, tree: Node) -> None:
    assert selected(engine, tree) == expected(tree)


def test_reference_sanity() -> None:
    """The fixed runs cover what the property is about: missing keys, NaN last values, mixed config types."""
    assert any("a" not in r.config for r in RUNS) and any(isinstance(r.config.get("a"), str) for r in RUNS)
    assert any(r.m is None for r in RUNS) and any(r.m is not None and r.m[0] is None for r in RUNS)
    check: Callable[[float], bool] = math.isfinite
    assert all(check(r.m[1] or 0.0) for r in RUNS if r.m is not None)
