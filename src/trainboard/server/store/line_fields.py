"""The fields of structured log lines (table ``log_line_fields``): written with the lines, read per page.

Rows are deleted with their lines by triggers (migration 0014), so deleting lines needs nothing here.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection

from trainboard.server.loglines.level_names import KNOWN_LEVELS, sort_key
from trainboard.server.store.sql import placeholder, placeholders

#: (line_number, level_name, level_no, logger, logged_at, format, fields) of one structured line
FieldsRow = tuple[int, str | None, int | None, str | None, float | None, str, dict[str, Any]]

_STANDARD = {10: "DEBUG", 20: "INFO", 30: "WARNING", 40: "ERROR", 50: "CRITICAL"}


def insert(conn: Connection, *, run_id: str, rows: list[FieldsRow]) -> None:
    if rows:
        conn.exec_driver_sql(
            "INSERT INTO log_line_fields (run_id, line_number, level_name, level_no, logger, logged_at, format, "
            f"fields) VALUES ({placeholders(conn, 8)})",
            [(run_id, *r[:6], json.dumps(r[6], separators=(",", ":"), default=str)) for r in rows],
        )


def for_lines(conn: Connection, *, run_id: str, line_numbers: list[int]) -> dict[int, dict[str, Any]]:
    """The structured part of the given lines (those that have one), by line number: ``fields``,
    ``level`` (as printed), ``level_no``, ``logger``, ``logged_at``, ``format``."""
    if not line_numbers:
        return {}
    ph = placeholder(conn)
    rows = conn.exec_driver_sql(
        "SELECT line_number, level_name, level_no, logger, logged_at, format, fields FROM log_line_fields "
        f"WHERE run_id = {ph} AND line_number >= {ph} AND line_number <= {ph}",
        (run_id, min(line_numbers), max(line_numbers)),
    ).all()
    wanted = set(line_numbers)
    return {
        int(r[0]): {
            "level": r[1],
            "level_no": r[2],
            "logger": r[3],
            "logged_at": r[4],
            "format": r[5],
            "fields": json.loads(r[6]),
        }
        for r in rows
        if int(r[0]) in wanted
    }


def levels(conn: Connection, *, run_id: str) -> list[dict[str, Any]]:
    """The levels present in the run's final lines, ordered by number (levels of unknown value last):
    ``{"name", "level_no", "count"}``. A plain line's level is the standard name of its number."""
    ph = placeholder(conn)
    counts: dict[tuple[str, int | None], int] = {}
    for name, stored, known, n in conn.exec_driver_sql(
        "SELECT f.level_name, l.level, f.level_no, COUNT(*) FROM log_lines l LEFT JOIN log_line_fields f "
        f"ON f.run_id = l.run_id AND f.line_number = l.line_number WHERE l.run_id = {ph} "
        "GROUP BY f.level_name, l.level, f.level_no",
        (run_id,),
    ):
        key: tuple[str, int | None]
        if name is None:
            key = (_STANDARD.get(int(stored), f"LEVEL {stored}"), int(stored))
        else:
            key = (str(name), None if known is None else int(known))
        counts[key] = counts.get(key, 0) + int(n)
    ordered = sorted(counts.items(), key=lambda item: sort_key(*item[0]))
    return [{"name": name, "level_no": no, "count": n} for (name, no), n in ordered]


def level_value(name: str) -> int | None:
    """The number of a level name in the standard table (None for a name of unknown value)."""
    return KNOWN_LEVELS.get(name.upper())
