"""The log query language (``loglines.query``) as SQL conditions on ``log_lines`` and its fields.

``compile_query`` gives conditions on the table named ``line`` (``log_lines`` or an alias) for SQLite and
PostgreSQL alike, plus the regular expressions to check in Python (SQL has no portable regex). Text terms
are case-insensitive substring tests (``LIKE`` / ``ILIKE``: SQLite folds ASCII letters only, so a term
with other letters is checked again in Python, as the line filter does); cross-run search adds the
full-text index in front of them (``store.line_search``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, tzinfo
from typing import Any, cast

from sqlalchemy import Connection

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
    instant,
)
from trainboard.server.store import tables
from trainboard.server.store.log_lines import LineFilter, LineRow
from trainboard.server.store.sql import placeholder

_SQL_OPS = {":": "=", "=": "=", "!=": "<>", ">": ">", ">=": ">=", "<": "<", "<=": "<="}


@dataclass
class Compiled:
    """SQL conditions (joined by AND) with their arguments, and what SQL cannot test."""

    conds: list[str] = field(default_factory=list)
    args: list[Any] = field(default_factory=list)
    regexes: list[tuple[re.Pattern[str], bool]] = field(default_factory=list)  # (pattern, negated)

    def python_ok(self, text: str) -> bool:
        return all((rx.search(text) is None) == negated for rx, negated in self.regexes)


def unsupported(query: LogQuery) -> QueryError | None:
    """What this server's tables cannot answer in ``query`` (checked before any SQL is built)."""
    for term in query.terms:
        if isinstance(term, KeyTerm) and term.key == "rank" and "rank" not in tables.log_lines.c:
            return QueryError("this server does not record ranks", term.pos, "q")
    return None


def like_pattern(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def compile_query(conn: Connection, query: LogQuery, *, tz: tzinfo, now: float, line: str = "log_lines") -> Compiled:
    out = Compiled()
    for term in query.terms:
        cond, args = _term(conn, term, line, tz, now, out)
        if cond:
            out.conds.append(f"NOT ({cond})" if term.negated else cond)
            out.args += args
    return out


def _term(conn: Connection, term: Term, line: str, tz: tzinfo, now: float, out: Compiled) -> tuple[str, list[Any]]:
    ph = placeholder(conn)
    if isinstance(term, TextTerm):
        op = "LIKE" if conn.dialect.name == "sqlite" else "ILIKE"
        if conn.dialect.name == "sqlite" and not term.text.isascii():
            out.regexes.append((re.compile(re.escape(term.text), re.IGNORECASE), term.negated))
        return f"{line}.text {op} {ph} ESCAPE '\\'", [like_pattern(term.text)]
    if isinstance(term, RegexTerm):
        out.regexes.append((re.compile(term.pattern), term.negated))
        return "", []
    if isinstance(term, LevelTerm):
        if term.number is not None:
            return f"{line}.level {_SQL_OPS[term.op]} {ph}", [term.number]
        cond = "f.level_name = " + ph if term.op != "!=" else "f.level_name <> " + ph
        return _exists(line, cond), [term.name.upper()]
    if isinstance(term, KeyTerm):
        sql_op = _SQL_OPS[term.op]
        if term.key == "source":
            return f"{line}.source {sql_op} {ph}", [term.value]
        if term.key == "rank":
            return f"COALESCE({line}.rank, 0) {sql_op} {ph}", [int(term.value)]
        below = f"(f.logger = {ph} OR f.logger LIKE {ph} ESCAPE '\\')"
        args = [term.value, like_pattern(term.value)[1:-1] + ".%"]
        if term.op == "!=":
            return f"NOT {_exists(line, below)}", args
        return _exists(line, below), args
    if isinstance(term, TimeTerm):
        return _time(conn, term, line, tz, now)
    return _field(conn, term, line)


def _exists(line: str, cond: str) -> str:
    return (
        f"EXISTS (SELECT 1 FROM log_line_fields f WHERE f.run_id = {line}.run_id "
        f"AND f.line_number = {line}.line_number AND {cond})"
    )


def _time(conn: Connection, term: TimeTerm, line: str, tz: tzinfo, now: float) -> tuple[str, list[Any]]:
    ph = placeholder(conn)
    bounds = [b for b in (term.start, term.end) if b is not None]
    if bounds[0].kind == "clock":
        from datetime import datetime

        offset = datetime.fromtimestamp(now, tz).utcoffset()
        shift = int(offset.total_seconds()) if offset else 0
        if conn.dialect.name == "sqlite":
            tod = f"((CAST({line}.time AS INTEGER) + {shift}) % 86400 + 86400) % 86400"
        else:
            tod = f"MOD(MOD(FLOOR({line}.time)::bigint + {shift}, 86400) + 86400, 86400)"
        lo = term.start.seconds if term.start else 0.0
        hi = _clock_end(term.end) if term.end else 86399.0
        if lo <= hi:
            return f"{tod} BETWEEN {ph} AND {ph}", [lo, hi]
        return f"({tod} >= {ph} OR {tod} <= {ph})", [lo, hi]  # across midnight
    conds, args = [], []
    if term.start is not None:
        conds.append(f"{line}.time >= {ph}")
        args.append(instant(term.start, tz, now))
    if term.end is not None:
        end = instant(term.end, tz, now)
        if term.end.kind == "instant" and len(term.end.text) == 10:
            conds.append(f"{line}.time < {ph}")  # a date: to the end of that day
            args.append(end + 86400)
        else:
            conds.append(f"{line}.time <= {ph}")
            args.append(end)
    return "(" + " AND ".join(conds) + ")", args


def _clock_end(bound: TimeBound) -> float:
    """``10:05`` as an end means up to 10:05:59 (the whole minute); ``10:05:30`` that second."""
    return bound.seconds + (59.0 if bound.text.count(":") == 1 else 0.0)


def _field(conn: Connection, term: FieldTerm, line: str) -> tuple[str, list[Any]]:
    ph = placeholder(conn)
    op = _SQL_OPS[term.op]
    value = term.value
    if conn.dialect.name == "sqlite":
        path = "$" + "".join('."' + p.replace('"', "") + '"' for p in term.path)
        kind, val = f"json_type(f.fields, {ph})", f"json_extract(f.fields, {ph})"
        if isinstance(value, bool):
            cond = f"{kind} {op} {ph}"
            return _exists(line, cond), [path, "true" if value else "false"]
        if isinstance(value, float):
            cond = f"{kind} IN ('integer', 'real') AND {val} {op} {ph}"
            return _exists(line, cond), [path, path, value]
        cond = f"{kind} = 'text' AND {val} {op} {ph}"
        return _exists(line, cond), [path, path, value]
    path_arr = list(term.path)
    node, text = f"(f.fields::jsonb #> {ph})", f"(f.fields::jsonb #>> {ph})"
    if isinstance(value, bool):
        cond = f"jsonb_typeof({node}) = 'boolean' AND {text} {op} {ph}"
        return _exists(line, cond), [path_arr, path_arr, "true" if value else "false"]
    if isinstance(value, float):
        cond = f"jsonb_typeof({node}) = 'number' AND {text}::numeric {op} CAST({ph} AS numeric)"
        return _exists(line, cond), [path_arr, path_arr, value]
    cond = f"jsonb_typeof({node}) = 'string' AND {text} {op} {ph}"
    return _exists(line, cond), [path_arr, path_arr, value]


class _AllRegexes:
    """Quacks like the ``re.Pattern`` a ``LineFilter`` checks rows with: every (pattern, negated) holds."""

    def __init__(self, compiled: Compiled, base: re.Pattern[str] | None) -> None:
        self._compiled = compiled
        self._base = base

    def search(self, text: str) -> bool | None:
        if self._base is not None and self._base.search(text) is None:
            return None
        return True if self._compiled.python_ok(text) else None


@dataclass
class QueryLineFilter(LineFilter):
    """A run's line filter with a log query (``q``) on top of the plain parameters.

    Open lines (not in the table yet) match only a query of words, phrases and regexes, checked in Python;
    the others (levels, fields, loggers, time, rank) apply to final lines only."""

    query: LogQuery | None = None
    tz: tzinfo | None = None
    now: float = 0.0

    def where(self, conn: Connection, run_id: str) -> tuple[str, list[Any]]:
        where, args = super().where(conn, run_id)
        if self.query is None or not self.query.terms:
            return where, args
        compiled = compile_query(conn, self.query, tz=self.tz or UTC, now=self.now)
        if compiled.regexes and not isinstance(self.regex, _AllRegexes):
            self.regex = cast(re.Pattern[str], _AllRegexes(compiled, self.regex))
        conds = [where, *compiled.conds]
        return " AND ".join(conds), [*args, *compiled.args]

    def matches(self, row: LineRow) -> bool:
        if not super().matches(row):
            return False
        if self.query is None:
            return True
        text = row[4]
        for term in self.query.terms:
            if isinstance(term, TextTerm):
                found = term.text.casefold() in text.casefold()
            elif isinstance(term, RegexTerm):
                found = re.search(term.pattern, text) is not None
            else:
                return False
            if found == term.negated:
                return False
        return True
