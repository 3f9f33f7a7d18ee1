"""What the log routers share about the log query language: the ``q`` and ``tz`` parameters, parsing, and its
errors as 422s naming the position (``{"loc": ["query", "q"], "msg": "at 14: ..."}``)."""

from __future__ import annotations

import time
from dataclasses import fields
from datetime import tzinfo
from typing import Any, NoReturn
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi.exceptions import RequestValidationError
from sqlalchemy import Connection

from trainboard.server.api.errors import invalid
from trainboard.server.api.schemas import NO_NUL_PATTERN
from trainboard.server.loglines.query import LogQuery, QueryError, parse
from trainboard.server.store import line_fields
from trainboard.server.store.line_search_sql import QueryLineFilter, unsupported
from trainboard.server.store.log_lines import LEVELS, LineFilter

#: A stored level number's name (plain lines: the standard levels, TRACE and SUCCESS included).
STANDARD_NAMES = {5: "TRACE", 10: "DEBUG", 20: "INFO", 25: "SUCCESS", 30: "WARNING", 40: "ERROR", 50: "CRITICAL"}

#: The OpenAPI description of ``q`` (the README's section says the same, with more examples).
Q_DESCRIPTION = (
    "Log query: terms separated by blanks, all required; `-` before a term negates it. A word or "
    '`"quoted phrase"` (case-insensitive; across runs whole words), `/regex/`, `level>=warning` (`= : != > >= < <=`; '
    "a name or number; `level:progress` for a program's own level), `logger:train.data` (and below it), "
    "`source:stderr`, `rank:3`, `time:10:02..10:05` (time of day in `tz`), `time:2026-12-01..2026-12-08`, "
    '`time:-7d..` (ago: s m h d w), `field.step>1000`, `field.phase:"eval"` (a structured line\'s fields; '
    'dotted for nested). Example: `level>=warning logger:train.data "CUDA out of memory" field.step>1000`.'
)
#: Query parameters of free text refuse a NUL (PostgreSQL cannot take one in a parameter).
NO_NUL = NO_NUL_PATTERN
TZ_DESCRIPTION = "IANA time zone for times of day and dates without a zone in `q` (default UTC)"


def query_error(exc: QueryError) -> NoReturn:
    raise RequestValidationError(
        [
            {
                "loc": ["query", exc.param],
                "msg": f"at {exc.position}: {exc.message}",
                "type": "value_error",
                "ctx": {"position": exc.position},
            }
        ]
    )


def parse_q(q: str) -> LogQuery:
    try:
        query = parse(q)
    except QueryError as exc:
        query_error(exc)
    problem = unsupported(query)
    if problem is not None:
        query_error(problem)
    return query


def zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        invalid(["query", "tz"], f"unknown time zone {name!r} (an IANA name such as Europe/Paris, or UTC)")


def with_query(flt: LineFilter, q: str | None, tz: str) -> LineFilter:
    """``flt`` with the log query ``q`` on top (unchanged without one)."""
    if not q:
        return flt
    query = parse_q(q)
    plain = {f.name: getattr(flt, f.name) for f in fields(flt)}
    return QueryLineFilter(**plain, query=query, tz=zone(tz), now=time.time())


def attach_structured(conn: Connection, run_id: str, lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Public lines with their structured part: ``fields``, ``logger``, ``logged_at``, the level as printed
    and ``level_no`` (null for a program's level of unknown value); a plain line gets ``level_no`` only."""
    found = line_fields.for_lines(conn, run_id=run_id, line_numbers=[ln["line_number"] for ln in lines])
    for line in lines:
        extra = found.get(line["line_number"]) if not line.get("provisional") else None
        name = str(line["level"])
        stored = LEVELS.get(name, int(name) if name.isdigit() else None)
        line["level_no"] = stored
        if stored is not None:
            line["level"] = STANDARD_NAMES.get(stored, name)
        if extra is None:
            continue
        line["fields"] = extra["fields"]
        line["logger"] = extra["logger"]
        line["logged_at"] = extra["logged_at"]
        if extra["level"] is not None:
            line["level"] = extra["level"]
            line["level_no"] = extra["level_no"]
    return lines
