"""Log lines: derived from the raw bytes (terminal semantics) or posted by clients; filters, summary.

Levels are stored as ``logging``'s numbers (10 DEBUG ... 50 CRITICAL), so a minimum level is ``>=``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from trainboard.server.store.sql import placeholder, placeholders

LEVELS = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "ERROR": 40, "CRITICAL": 50}
LEVEL_NAMES = {v: k for k, v in LEVELS.items()}
SOURCES = ("stdout", "stderr", "sdk", "user")

#: (line_number, time, source, level, text, display)
LineRow = tuple[int, float, str, int, str, str]


def next_line_number(conn: Connection, *, run_id: str) -> int:
    ph = placeholder(conn)
    row = conn.exec_driver_sql(f"SELECT MAX(line_number) FROM log_lines WHERE run_id = {ph}", (run_id,)).first()
    return 0 if row is None or row[0] is None else int(row[0]) + 1


def insert(conn: Connection, *, run_id: str, rows: list[LineRow]) -> None:
    if rows:
        conn.exec_driver_sql(
            f"INSERT INTO log_lines (run_id, line_number, time, source, level, text, display) "
            f"VALUES ({placeholders(conn, 7)})",
            [(run_id, *r) for r in rows],
        )


def public(row: LineRow | Any) -> dict[str, Any]:
    n, at, source, level, text, display = row
    return {
        "line_number": int(n),
        "timestamp": at,
        "source": source,
        "level": LEVEL_NAMES.get(level, str(level)),
        "message": text,
        "display": display,
    }


@dataclass
class LineFilter:
    levels: list[int] | None = None  # exact set
    min_level: int | None = None
    sources: list[str] | None = None
    search: str | None = None  # case-insensitive substring
    regex: re.Pattern[str] | None = None
    since: float | None = None
    until: float | None = None

    def where(self, conn: Connection, run_id: str) -> tuple[str, list[Any]]:
        ph = placeholder(conn)
        conds = [f"run_id = {ph}"]
        args: list[Any] = [run_id]
        if self.levels:
            conds.append(f"level IN ({placeholders(conn, len(self.levels))})")
            args += self.levels
        if self.min_level is not None:
            conds.append(f"level >= {ph}")
            args.append(self.min_level)
        if self.sources:
            conds.append(f"source IN ({placeholders(conn, len(self.sources))})")
            args += self.sources
        if self.search:
            escaped = self.search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            op = "LIKE" if conn.dialect.name == "sqlite" else "ILIKE"
            conds.append(f"text {op} {ph} ESCAPE '\\'")
            args.append(f"%{escaped}%")
            if conn.dialect.name == "sqlite" and not self.search.isascii():
                # SQLite's LIKE folds ASCII case only: check the rest in Python
                self.regex = self.regex or re.compile(re.escape(self.search), re.IGNORECASE)
        if self.since is not None:
            conds.append(f"time >= {ph}")
            args.append(self.since)
        if self.until is not None:
            conds.append(f"time <= {ph}")
            args.append(self.until)
        return " AND ".join(conds), args


def iter_lines(
    conn: Connection, *, run_id: str, flt: LineFilter, after: int = -1, page: int = 2000, descending: bool = False
) -> Iterator[LineRow]:
    """Matching lines in line order (or reverse), read page by page (constant memory)."""
    where, args = flt.where(conn, run_id)
    ph = placeholder(conn)
    cursor = after if not descending else (2**62 if after < 0 else after)
    while True:
        cmp, order = (">", "ASC") if not descending else ("<", "DESC")
        rows = conn.exec_driver_sql(
            f"SELECT line_number, time, source, level, text, display FROM log_lines WHERE {where} "
            f"AND line_number {cmp} {ph} ORDER BY line_number {order} LIMIT {int(page)}",
            (*args, cursor),
        ).all()
        if not rows:
            return
        for r in rows:
            if flt.regex is None or flt.regex.search(r[4]):
                yield (int(r[0]), r[1], r[2], int(r[3]), r[4], r[5])
        cursor = int(rows[-1][0])
        if len(rows) < page:
            return


def count(conn: Connection, *, run_id: str, flt: LineFilter) -> int:
    if flt.regex is not None:
        return sum(1 for _ in iter_lines(conn, run_id=run_id, flt=flt))
    where, args = flt.where(conn, run_id)
    row = conn.exec_driver_sql(f"SELECT COUNT(*) FROM log_lines WHERE {where}", tuple(args)).first()
    return int(row[0]) if row else 0


def summary(conn: Connection, *, run_id: str) -> dict[str, Any]:
    ph = placeholder(conn)
    levels = {name: 0 for name in LEVELS}
    sources: dict[str, int] = {s: 0 for s in SOURCES}
    total = 0
    for source, level, n in conn.exec_driver_sql(
        f"SELECT source, level, COUNT(*) FROM log_lines WHERE run_id = {ph} GROUP BY source, level", (run_id,)
    ):
        total += n
        levels[LEVEL_NAMES.get(level, str(level))] = levels.get(LEVEL_NAMES.get(level, str(level)), 0) + n
        sources[source] = sources.get(source, 0) + n
    return {"total": total, "levels": levels, "sources": sources}


def clear(conn: Connection, *, run_id: str) -> dict[str, int]:
    """Delete a run's raw bytes and lines; offsets stay monotonic (new bytes continue after the old end)."""
    ph = placeholder(conn)
    size_row = conn.exec_driver_sql(f"SELECT log_size, log_trimmed FROM runs WHERE id = {ph}", (run_id,)).first()
    size, trimmed = (int(size_row[0]), int(size_row[1])) if size_row else (0, 0)
    lines = conn.exec_driver_sql(f"DELETE FROM log_lines WHERE run_id = {ph}", (run_id,)).rowcount
    chunks = conn.exec_driver_sql(f"DELETE FROM log_chunks WHERE run_id = {ph}", (run_id,)).rowcount
    conn.exec_driver_sql(f"UPDATE runs SET log_trimmed = log_size WHERE id = {ph}", (run_id,))
    return {"bytes": size - trimmed, "chunks": chunks, "lines": lines}
