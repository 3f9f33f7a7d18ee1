"""The log query language: one query for a run's lines and for search across runs (pure; no SQL here).

Terms are separated by blanks and all must hold (AND by juxtaposition); ``-`` before a term negates it::

    level>=warning logger:train.data rank:3 "CUDA out of memory" time:10:02..10:05 field.step>1000

| term                         | matches                                                                 |
|------------------------------|-------------------------------------------------------------------------|
| ``word``                     | the line's text contains it (case-insensitive)                          |
| ``"a phrase"``               | the text contains the phrase (``\\"`` and ``\\\\`` inside)               |
| ``/regex/``                  | a Python regular expression (``\\/`` for a slash) searched in the text   |
| ``level>=warning``           | level by number: ``=`` ``:`` ``!=`` ``>`` ``>=`` ``<`` ``<=``; a name    |
|                              | (trace, debug, info, success, notice, warning, warn, error, critical,    |
|                              | fatal) or a number (``level>=25``); ``level:progress`` matches a         |
|                              | program's own level by name                                             |
| ``logger:train.data``        | a structured line's logger, or one below it (``train.data.loader``)     |
| ``source:stderr``            | stdout, stderr, sdk, user                                               |
| ``rank:3``                   | the rank that printed the line                                          |
| ``time:10:02..10:05``        | time of day (``HH:MM[:SS]``), a date or ISO time                        |
|                              | (``time:2026-12-01..2026-12-08``), or ago (``time:-7d..``: s m h d w);  |
|                              | either side may be left out                                             |
| ``field.step>1000``          | a structured line's field (dotted for nested ones); numbers compare as  |
|                              | numbers, other values as text; ``:`` / ``=`` equality                   |

``render(parse(q))`` is ``q`` written the normal way (single blanks, lower-case keys and level names).
Errors are ``QueryError``s whose ``position`` is the 0-based offset of the term at fault.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from trainboard.server.loglines.level_names import KNOWN_LEVELS

__all__ = [
    "FieldTerm",
    "KeyTerm",
    "LevelTerm",
    "LogQuery",
    "QueryError",
    "RegexTerm",
    "Term",
    "TextTerm",
    "TimeBound",
    "TimeTerm",
    "parse",
    "render",
]


class QueryError(ValueError):
    """A query that cannot be used: what is wrong, where (0-based offset), in which parameter (``q``, ``cursor``)."""

    def __init__(self, message: str, position: int, param: str = "q") -> None:
        super().__init__(message)
        self.message = message
        self.position = position
        self.param = param

    def __str__(self) -> str:
        return f"at {self.position}: {self.message}"


MAX_LENGTH = 1000
MAX_TERMS = 50
COMPARE = (">=", "<=", "!=", ":", "=", ">", "<")
KEYS = ("level", "logger", "source", "rank", "time")
SOURCES = ("stdout", "stderr", "sdk", "user")
_KEYED = re.compile(r"(level|logger|source|rank|time|field((?:\.[A-Za-z0-9_\-@$]+)+))(>=|<=|!=|:|=|>|<)", re.I)
_LOOKS_KEYED = re.compile(r"([A-Za-z_][\w.]*)(>=|<=|!=|>|<)")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_AGO = re.compile(r"-(\d{1,6})([smhdw])")
_CLOCK = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


@dataclass(frozen=True)
class TextTerm:
    """A word or quoted phrase the text must contain (``negated``: must not)."""

    text: str
    phrase: bool
    negated: bool = False
    pos: int = 0


@dataclass(frozen=True)
class RegexTerm:
    pattern: str
    negated: bool = False
    pos: int = 0


@dataclass(frozen=True)
class LevelTerm:
    """``number`` None: a level of a program's own naming, matched by ``name`` (only with ``:`` / ``=`` / ``!=``)."""

    op: str
    name: str  # as written, lower-cased (a number's digits)
    number: int | None
    negated: bool = False
    pos: int = 0


@dataclass(frozen=True)
class KeyTerm:
    """``logger:``, ``source:`` or ``rank:`` (equality; ``!=`` allowed)."""

    key: str
    op: str
    value: str
    negated: bool = False
    pos: int = 0


@dataclass(frozen=True)
class TimeBound:
    """One side of a time range: ``kind`` "clock" (seconds into the day), "instant" (an ISO date or time, as
    written) or "ago" (seconds before now)."""

    kind: str
    text: str
    seconds: float = 0.0


@dataclass(frozen=True)
class TimeTerm:
    start: TimeBound | None
    end: TimeBound | None
    negated: bool = False
    pos: int = 0


@dataclass(frozen=True)
class FieldTerm:
    path: tuple[str, ...]
    op: str
    value: float | str | bool
    raw: str  # the value as written (a quoted one without its quotes)
    quoted: bool
    negated: bool = False
    pos: int = 0


Term = TextTerm | RegexTerm | LevelTerm | KeyTerm | TimeTerm | FieldTerm


@dataclass(frozen=True)
class LogQuery:
    terms: tuple[Term, ...]

    @property
    def text_terms(self) -> list[TextTerm]:
        return [t for t in self.terms if isinstance(t, TextTerm)]


def parse(q: str) -> LogQuery:
    """Parse a query (see the module docstring); raises ``QueryError`` (param ``q``) naming the position."""
    if len(q) > MAX_LENGTH:
        raise QueryError(f"the query is longer than {MAX_LENGTH} characters", MAX_LENGTH, "q")
    terms: list[Term] = []
    i, n = 0, len(q)
    while i < n:
        if q[i].isspace():
            i += 1
            continue
        if len(terms) >= MAX_TERMS:
            raise QueryError(f"more than {MAX_TERMS} terms", i, "q")
        term, i = _term(q, i)
        terms.append(term)
    return LogQuery(tuple(terms))


def _term(q: str, start: int) -> tuple[Term, int]:
    negated = q[start] == "-" and start + 1 < len(q) and not q[start + 1].isspace()
    i = start + 1 if negated else start
    c = q[i]
    if c == '"':
        text, end = _quoted(q, i, '"')
        if not text:
            raise QueryError("an empty phrase", i, "q")
        return TextTerm(text, True, negated, start), end
    if c == "/":
        pattern, end = _quoted(q, i, "/")
        try:
            re.compile(pattern)
        except re.error as exc:
            raise QueryError(f"invalid regular expression: {exc}", i, "q") from None
        if not pattern:
            raise QueryError("an empty regular expression", i, "q")
        return RegexTerm(pattern, negated, start), end
    m = _KEYED.match(q, i)
    if m is not None:
        return _keyed(q, m, negated, start)
    end = _word_end(q, i)
    word = q[i:end]
    looks = _LOOKS_KEYED.match(word)
    if looks is not None:
        raise QueryError(
            f"unknown key {looks.group(1)!r} (keys: {', '.join(KEYS)}, field.NAME; quote a phrase to search for it)",
            i,
            "q",
        )
    return TextTerm(word, False, negated, start), end


def _word_end(q: str, i: int) -> int:
    while i < len(q) and not q[i].isspace():
        i += 1
    return i


def _quoted(q: str, i: int, quote: str) -> tuple[str, int]:
    """The content of ``quote ... quote`` starting at ``i`` (backslash escapes the quote and itself)."""
    out: list[str] = []
    j = i + 1
    while j < len(q):
        c = q[j]
        if c == "\\" and j + 1 < len(q) and q[j + 1] in (quote, "\\"):
            if quote == "/" and q[j + 1] == "\\":
                out.append("\\\\")  # a regex keeps its own escapes
            else:
                out.append(q[j + 1])
            j += 2
            continue
        if c == quote:
            if j + 1 < len(q) and not q[j + 1].isspace():
                raise QueryError(f"expected a blank after the closing {quote}", j + 1, "q")
            return "".join(out), j + 1
        out.append(c)
        j += 1
    raise QueryError(f"unclosed {quote}", i, "q")


def _value(q: str, i: int) -> tuple[str, bool, int]:
    if i < len(q) and q[i] == '"':
        text, end = _quoted(q, i, '"')
        return text, True, end
    end = _word_end(q, i)
    return q[i:end], False, end


def _keyed(q: str, m: re.Match[str], negated: bool, start: int) -> tuple[Term, int]:
    key, op = m.group(1).lower(), m.group(3)
    at = m.end()
    value, quoted, end = _value(q, at)
    if not value and not quoted:
        raise QueryError(f"{key}{op} needs a value", at, "q")
    if key.startswith("field."):
        path = tuple(m.group(1)[len("field.") :].split("."))
        if quoted:
            return FieldTerm(path, op, value, value, True, negated, start), end
        typed: float | str | bool = value
        if _NUMBER.fullmatch(value):
            typed = float(value)
        elif value in ("true", "false"):
            typed = value == "true"
        return FieldTerm(path, op, typed, value, False, negated, start), end
    if key == "level":
        return _level(value, op, at, negated, start), end
    if key == "time":
        if op != ":":
            raise QueryError("time takes a range: time:START..END", m.start(3), "q")
        return _time(value, at, negated, start), end
    if op not in (":", "=", "!="):
        raise QueryError(f"{key} compares by equality only (:, =, !=)", m.start(3), "q")
    if key == "source":
        value = value.lower()
        if value not in SOURCES:
            raise QueryError(f"unknown source {value!r} (use {', '.join(SOURCES)})", at, "q")
    if key == "rank" and not (value.isdigit() and len(value) <= 9):
        raise QueryError(f"a rank is a number below 10^9, not {value[:20]!r}", at, "q")
    return KeyTerm(key, op, value, negated, start), end


def _level(value: str, op: str, at: int, negated: bool, start: int) -> LevelTerm:
    name = value.lower()
    if name.isdigit():
        if len(name) > 4 or int(name) > 1000:
            raise QueryError(f"a level number is 0 to 1000, not {value[:20]}", at, "q")
        return LevelTerm(op, name, int(name), negated, start)
    number = KNOWN_LEVELS.get(name.upper())
    if number is None and op not in (":", "=", "!="):
        raise QueryError(
            f"level {value!r} has no known number: compare it by name (level:{name}) or use a number "
            f"(level{op}25); known: {', '.join(k.lower() for k in KNOWN_LEVELS)}",
            at,
            "q",
        )
    return LevelTerm(op, name, number, negated, start)


def _time(value: str, at: int, negated: bool, start: int) -> TimeTerm:
    if ".." not in value:
        raise QueryError("time takes a range: time:START..END (either side may be empty)", at, "q")
    left, right = value.split("..", 1)
    a = _bound(left, at) if left else None
    b = _bound(right, at + len(left) + 2) if right else None
    if a is None and b is None:
        raise QueryError("time:.. needs a start or an end", at, "q")
    if a is not None and b is not None and (a.kind == "clock") != (b.kind == "clock"):
        raise QueryError("a time range mixes a time of day with a date or an age", at, "q")
    return TimeTerm(a, b, negated, start)


def _bound(text: str, at: int) -> TimeBound:
    m = _AGO.fullmatch(text)
    if m is not None:
        return TimeBound("ago", text, float(int(m.group(1)) * _UNITS[m.group(2)]))
    m = _CLOCK.fullmatch(text)
    if m is not None:
        h, mi, s = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
        if h > 23 or mi > 59 or s > 59:
            raise QueryError(f"{text!r} is not a time of day", at, "q")
        return TimeBound("clock", text, float(h * 3600 + mi * 60 + s))
    try:
        instant(TimeBound("instant", text), UTC, 0.0)  # a time that has no epoch seconds is refused here
    except (ValueError, OverflowError, OSError):
        raise QueryError(
            f"{text!r} is not a time: use HH:MM[:SS], a date or ISO time (2026-12-01T10:00), or an age (-7d)",
            at,
            "q",
        ) from None
    return TimeBound("instant", text)


def instant(bound: TimeBound, tz: object, now: float) -> float:
    """Epoch seconds of an "instant" or "ago" bound (a date or time without a zone is in ``tz``)."""
    if bound.kind == "ago":
        return now - bound.seconds
    parsed = (
        datetime.combine(date.fromisoformat(bound.text), time())
        if len(bound.text) == 10
        else datetime.fromisoformat(bound.text)
    )
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)  # type: ignore[arg-type]
    return parsed.timestamp()


# -- rendering ---------------------------------------------------------------------------------------


def _quote(text: str, quote: str = '"') -> str:
    return quote + text.replace("\\", "\\\\").replace(quote, "\\" + quote) + quote


def _render_value(value: str, quoted: bool) -> str:
    return _quote(value) if quoted else value


def render_term(term: Term) -> str:
    sign = "-" if term.negated else ""
    if isinstance(term, TextTerm):
        return sign + (_quote(term.text) if term.phrase else term.text)
    if isinstance(term, RegexTerm):
        return sign + "/" + term.pattern.replace("/", "\\/") + "/"
    if isinstance(term, LevelTerm):
        return f"{sign}level{term.op}{term.name}"
    if isinstance(term, KeyTerm):
        return f"{sign}{term.key}{term.op}{term.value}"
    if isinstance(term, TimeTerm):
        left = term.start.text if term.start else ""
        right = term.end.text if term.end else ""
        return f"{sign}time:{left}..{right}"
    return f"{sign}field.{'.'.join(term.path)}{term.op}{_render_value(term.raw, term.quoted)}"


def render(query: LogQuery) -> str:
    """The query written the normal way: what ``parse`` reads back as the same terms."""
    return " ".join(render_term(t) for t in query.terms)
