"""The runs filter language's parser: printed trees parse back to themselves, any text either parses or fails
with a QueryError whose position lies inside the text, and the documented error positions."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trainboard.server.runs_query import QueryError, parse_filter
from trainboard.server.runs_query.nodes import And, Compare, In, Name, Node, Not, Or, Value
from trainboard.server.runs_query.parse import KEYWORDS, MAX_DEPTH

_NUMBERISH = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
words = st.from_regex(r"[A-Za-z_][A-Za-z0-9_./:@+-]{0,15}", fullmatch=True).filter(
    lambda w: w.lower() not in KEYWORDS and not _NUMBERISH.fullmatch(w)
)
numbers = st.floats(allow_nan=False, allow_infinity=False, width=64)
texts = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=12)
ops = st.sampled_from(["=", "!=", "<", "<=", ">", ">=", "~", "!~", "contains", "!contains"])


def shape(node: Node) -> Any:
    """A tree without positions (what the text means)."""
    if isinstance(node, And | Or):
        return (type(node).__name__, tuple(shape(n) for n in node.items))
    if isinstance(node, Not):
        return ("not", shape(node.item))
    if isinstance(node, In):
        return ("in", node.name.text, tuple(v.value for v in node.values), node.negated)
    return ("cmp", node.name.text, node.op, node.value.value)


def quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def show_value(v: Value) -> str:
    if isinstance(v.value, float):
        return repr(v.value)
    return quote(v.value) if v.quoted else v.value


def show(node: Node, blank: str) -> str:
    """``node`` as text, every part in parentheses so the tree is unambiguous."""
    if isinstance(node, And | Or):
        word = " and " if isinstance(node, And) else " OR "
        return "(" + word.join(show(n, blank) for n in node.items) + ")"
    if isinstance(node, Not):
        return f"not{blank or ' '}({show(node.item, blank)})"
    if isinstance(node, In):
        inner = f",{blank}".join(show_value(v) for v in node.values)
        return f"{node.name.text} {'not in' if node.negated else 'in'} ({inner})"
    op = {"contains": " contains ", "!contains": " not contains "}.get(node.op, f"{blank}{node.op}{blank}")
    return f"{node.name.text}{op}{show_value(node.value)}"


values = st.one_of(
    numbers.map(lambda f: Value(f, False, 0)),
    words.map(lambda w: Value(w, False, 0)),
    texts.map(lambda t: Value(t, True, 0)),
)
leaves = st.one_of(
    st.builds(lambda n, o, v: Compare(Name(n, 0), o, v, 0), words, ops, values),
    st.builds(
        lambda n, vs, neg: In(Name(n, 0), tuple(vs), neg, 0),
        words,
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
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(trees, st.sampled_from(["", " ", "  "]))
def test_a_printed_tree_parses_back_to_itself(tree: Node, blank: str) -> None:
    parsed = parse_filter(show(tree, blank))
    assert parsed is not None
    assert shape(parsed) == shape(tree)


@settings(max_examples=500, deadline=None)
@given(
    st.lists(st.sampled_from([*"ab1.5 ()=!<>~,'\"\\-/", " and ", " or ", " not ", " in "]), max_size=30).map("".join)
)
def test_any_text_parses_or_fails_at_a_position_inside_it(text: str) -> None:
    try:
        parse_filter(text)
    except QueryError as exc:
        assert 0 <= exc.position <= len(text)
        assert exc.message


@pytest.mark.parametrize(
    ("text", "position", "words"),
    [
        ("config.lr < ", 12, "expected a value"),
        ("config.lr < 1e-3 and", 20, "expected a field name"),
        ("status = failed val/loss < 2", 16, "expected 'and', 'or'"),
        ("(a = 1 or b = 2", 15, "expected ')'"),
        ("a = 1)", 5, "unexpected ')'"),
        ("name = 'abc", 7, "unterminated string"),
        ("val/loss ! 3", 9, "not an operator"),
        ("tags has x", 5, "expected an operator"),
        ("status in failed", 10, "expected '('"),
        ("status in (a b)", 13, "expected ',' or ')'"),
    ],
)
def test_errors_name_the_position(text: str, position: int, words: str) -> None:
    with pytest.raises(QueryError) as info:
        parse_filter(text)
    assert info.value.position == position
    assert words in info.value.message
    assert f"position {position}" in str(info.value)


def test_the_issue_forms() -> None:
    tree = parse_filter("config.lr < 1e-3 and status = failed and val/loss < 0.2")
    assert tree is not None
    assert shape(tree) == (
        "And",
        (("cmp", "config.lr", "<", 0.001), ("cmp", "status", "=", "failed"), ("cmp", "val/loss", "<", 0.2)),
    )
    quoted = parse_filter('name ~ \'cifar 10\' or tags contains "a\\"b"')
    assert quoted is not None
    assert shape(quoted) == ("Or", (("cmp", "name", "~", "cifar 10"), ("cmp", "tags", "contains", 'a"b')))
    assert parse_filter("   ") is None


def test_precedence_and_binds_tighter_than_or() -> None:
    tree = parse_filter("a = 1 or b = 2 and not c = 3")
    assert tree is not None
    assert shape(tree) == (
        "Or",
        (("cmp", "a", "=", 1.0), ("And", (("cmp", "b", "=", 2.0), ("not", ("cmp", "c", "=", 3.0))))),
    )


def test_nesting_is_bounded() -> None:
    deep = "(" * (MAX_DEPTH + 1) + "a = 1" + ")" * (MAX_DEPTH + 1)
    with pytest.raises(QueryError, match="nested more than"):
        parse_filter(deep)
    assert parse_filter("not " * (MAX_DEPTH - 1) + "a = 1") is not None
