"""The log query language's parser: a Hypothesis round trip (render(parse(q)) is q written the normal way, and
parsing that gives the same terms), and errors that name the position."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trainboard.server.loglines.query import (
    FieldTerm,
    KeyTerm,
    LevelTerm,
    LogQuery,
    QueryError,
    RegexTerm,
    Term,
    TextTerm,
    TimeBound,
    TimeTerm,
    parse,
    render,
)

_plain = st.text(alphabet="abcxyzABC0123456789_.,;!?#%&*+[]{}'", min_size=1, max_size=12)
_words = _plain.filter(lambda w: not w.startswith(("-", '"', "/")) and ":" not in w)
_phrase = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=20)
_negated = st.booleans()


def _strip(term: Term) -> Term:
    return dataclasses.replace(term, pos=0)


text_terms = st.builds(lambda w, n: TextTerm(w, False, n), _words, _negated) | st.builds(
    lambda p, n: TextTerm(p, True, n), _phrase, _negated
)
regex_terms = st.builds(
    lambda p, n: RegexTerm(p, n), st.sampled_from(["a/b", "^x\\d+$", "CUDA.*memory", "\\\\"]), _negated
)
level_terms = st.builds(
    lambda op, name, n: (
        LevelTerm(op, name, int(name) if name.isdigit() else {"warning": 30, "error": 40, "trace": 5}[name], n)
        if name != "progress"
        else LevelTerm(":", name, None, n)
    ),
    st.sampled_from([">=", "<=", "!=", ":", "=", ">", "<"]),
    st.sampled_from(["warning", "error", "trace", "25", "progress"]),
    _negated,
)
key_terms = st.builds(
    lambda kv, op, n: KeyTerm(kv[0], op, kv[1], n),
    st.sampled_from([("logger", "train.data"), ("source", "stderr"), ("rank", "3"), ("logger", "a-b")]),
    st.sampled_from([":", "=", "!="]),
    _negated,
)
_bounds = st.sampled_from(
    [
        TimeBound("clock", "10:02", 36120.0),
        TimeBound("clock", "23:59:59", 86399.0),
        TimeBound("instant", "2026-12-01"),
        TimeBound("instant", "2026-12-01T10:00:00"),
        TimeBound("ago", "-7d", 604800.0),
    ]
)
time_terms = st.builds(lambda a, b, n: TimeTerm(a, b, n), _bounds, _bounds, _negated).filter(
    lambda t: t.start is None or t.end is None or (t.start.kind == "clock") == (t.end.kind == "clock")
)
field_terms = st.one_of(
    st.builds(
        lambda path, op, v, n: FieldTerm(path, op, float(v), str(v), False, n),
        st.lists(st.sampled_from(["step", "loss", "a_b", "x-y"]), min_size=1, max_size=3).map(tuple),
        st.sampled_from([">=", "<=", "!=", ":", "=", ">", "<"]),
        st.integers(-1000, 10**6),
        _negated,
    ),
    st.builds(
        lambda path, v, n: FieldTerm(path, ":", v, v, True, n),
        st.tuples(st.sampled_from(["phase", "name"])),
        _phrase,
        _negated,
    ),
)
queries = st.lists(st.one_of(text_terms, regex_terms, level_terms, key_terms, time_terms, field_terms), max_size=8).map(
    lambda terms: LogQuery(tuple(terms))
)


@given(queries)
def test_render_then_parse_gives_the_same_terms(query: LogQuery) -> None:
    text = render(query)
    parsed = parse(text)
    assert [_strip(t) for t in parsed.terms] == [_strip(t) for t in query.terms]
    assert render(parsed) == text


@given(queries, st.lists(st.sampled_from([" ", "  ", "\t"]), min_size=1, max_size=10))
def test_parse_of_any_spacing_renders_the_normal_form(query: LogQuery, gaps: list[str]) -> None:
    parts = [render(LogQuery((t,))) for t in query.terms]
    spaced = "".join(p + gaps[i % len(gaps)] for i, p in enumerate(parts))
    assert render(parse(" " + spaced)) == render(query)


def test_example_of_the_issue() -> None:
    q = 'level>=warning logger:train.data rank:3 "CUDA out of memory" time:10:02..10:05 field.step>1000'
    assert render(parse(q)) == q
    assert render(parse("LEVEL>=WARNING  Logger:train.data")) == "level>=warning logger:train.data"


@pytest.mark.parametrize(
    ("query", "position", "says"),
    [
        ("level>=warning levle>=3", 15, "unknown key 'levle'"),
        ('loss "unclosed', 5, "unclosed"),
        ("level>=progress", 7, "no known number"),
        ("time:10:02", 5, "range"),
        ("time:10:02..2026-01-01", 5, "mixes"),
        ("source:nowhere", 7, "unknown source"),
        ("rank:x", 5, "a rank is a number"),
        ("/(/", 0, "invalid regular expression"),
        ("field.step>", 11, "needs a value"),
    ],
)
def test_errors_name_the_position(query: str, position: int, says: str) -> None:
    with pytest.raises(QueryError) as err:
        parse(query)
    assert err.value.position == position
    assert says in err.value.message
    assert err.value.param == "q"
