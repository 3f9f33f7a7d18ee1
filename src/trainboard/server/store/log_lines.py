"""Log lines: derived from the raw bytes (terminal semantics) or posted by clients; filters, summary.

Levels are stored as ``logging``'s numbers (10 DEBUG ... 50 CRITICAL), so a minimum level is ``>=``.

Reads include the run's *open* lines (``store.line_index``: still being redrawn, or the last line before
a pause) after the final ones, numbered from the next free line number and marked ``provisional``:
the same number later holds the final line (or another open line), so clients re-read the tail.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from trainboard.server.store import line_index
from trainboard.server.store.ranks import rank_source, split_source
from trainboard.server.store.sql import placeholder, placeholders

LEVELS = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "ERROR": 40, "CRITICAL": 50}
LEVEL_NAMES = {v: k for k, v in LEVELS.items()}
SOURCES = ("stdout", "stderr", "sdk", "user")

#: (line_number, time, source, level, text, display); a rank's line has a tagged source ("stdout#3",
#: ``store.ranks.rank_source``), stored as the ``source`` and ``rank`` columns.
LineRow = tuple[int, float, str, int, str, str]


def next_line_number(conn: Connection, *, run_id: str) -> int:
    ph = placeholder(conn)
    row = conn.exec_driver_sql(f"SELECT MAX(line_number) FROM log_lines WHERE run_id = {ph}", (run_id,)).first()
    return 0 if row is None or row[0] is None else int(row[0]) + 1


def insert(conn: Connection, *, run_id: str, rows: list[LineRow]) -> None:
    if rows:
        conn.exec_driver_sql(
            f"INSERT INTO log_lines (run_id, line_number, time, source, level, text, display, rank) "
            f"VALUES ({placeholders(conn, 8)})",
            [(run_id, n, at, *_columns(src, lv, text, disp)) for n, at, src, lv, text, disp in rows],
        )


def _columns(tagged: str, level: int, text: str, display: str) -> tuple[str, int, str, str, int | None]:
    """(source, level, text, display, rank) of a row's stored columns."""
    source, rank = split_source(tagged)
    return source, level, text, display, rank


def public(row: LineRow | Any, *, provisional: bool = False) -> dict[str, Any]:
    n, at, tagged, level, text, display = row
    source, rank = split_source(tagged)
    return {
        "line_number": int(n),
        "timestamp": at,
        "source": source,
        "rank": rank,
        "level": LEVEL_NAMES.get(level, str(level)),
        "message": text,
        "display": display,
        "provisional": provisional,
    }


def open_rows(conn: Connection, *, run_id: str) -> list[LineRow]:
    """The run's open lines, numbered after its last final line (empty when none are open)."""
    opened = line_index.open_lines(conn, run_id=run_id)
    if not opened:
        return []
    first = next_line_number(conn, run_id=run_id)
    return [
        (first + i, at, source, level, text, display) for i, (source, at, level, text, display) in enumerate(opened)
    ]


@dataclass
class LineFilter:
    levels: list[int] | None = None  # exact set
    min_level: int | None = None
    sources: list[str] | None = None
    search: str | None = None  # case-insensitive substring
    regex: re.Pattern[str] | None = None
    since: float | None = None
    until: float | None = None
    rank: int | None = None  # one rank's lines only (a distributed run)

    def matches(self, row: LineRow) -> bool:
        """The same test as `where`, in Python (for open lines, which are not in the table)."""
        _n, at, tagged, level, text, _display = row
        source, rank = split_source(tagged)
        if self.rank is not None and rank != self.rank:
            return False
        if self.levels and level not in self.levels:
            return False
        if self.min_level is not None and level < self.min_level:
            return False
        if self.sources and source not in self.sources:
            return False
        if self.search and self.search.casefold() not in text.casefold():
            return False
        if self.regex is not None and not self.regex.search(text):
            return False
        if self.since is not None and at < self.since:
            return False
        return self.until is None or at <= self.until

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
        if self.rank is not None:
            conds.append(f"rank = {ph}")
            args.append(self.rank)
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
    conn: Connection,
    *,
    run_id: str,
    flt: LineFilter,
    after: int = -1,
    page: int = 2000,
    descending: bool = False,
    include_open: bool = True,
) -> Iterator[LineRow]:
    """Matching lines in line order (or reverse), read page by page (constant memory); the open lines
    (see the module docstring) come after the final ones unless ``include_open`` is False."""
    if not include_open:
        yield from _iter_final(conn, run_id=run_id, flt=flt, after=after, page=page, descending=descending)
        return
    opened = [r for r in open_rows(conn, run_id=run_id) if flt.matches(r)]
    if descending:
        cursor = 2**62 if after < 0 else after
        yield from reversed([r for r in opened if r[0] < cursor])
    yield from _iter_final(conn, run_id=run_id, flt=flt, after=after, page=page, descending=descending)
    if not descending:
        yield from (r for r in opened if r[0] > after)


def _iter_final(
    conn: Connection, *, run_id: str, flt: LineFilter, after: int, page: int, descending: bool
) -> Iterator[LineRow]:
    where, args = flt.where(conn, run_id)
    ph = placeholder(conn)
    cursor = after if not descending else (2**62 if after < 0 else after)
    if conn.dialect.name == "postgresql":
        # Without fresh statistics for this run (a new run, or a table that grew since the last ANALYZE)
        # PostgreSQL plans each page as a bitmap scan of every later line plus a sort, which made a download
        # of 25,000 lines take 7 s (quadratic). Walking the primary key in order is right for every page.
        conn.exec_driver_sql("SET LOCAL enable_bitmapscan = off")
    while True:
        cmp, order = (">", "ASC") if not descending else ("<", "DESC")
        rows = conn.exec_driver_sql(
            f"SELECT line_number, time, source, level, text, display, rank FROM log_lines WHERE {where} "
            f"AND line_number {cmp} {ph} ORDER BY line_number {order} LIMIT {int(page)}",
            (*args, cursor),
        ).all()
        if not rows:
            return
        for r in rows:
            if flt.regex is None or flt.regex.search(r[4]):
                yield (int(r[0]), r[1], rank_source(r[2], r[6]), int(r[3]), r[4], r[5])
        cursor = int(rows[-1][0])
        if len(rows) < page:
            return


def count(conn: Connection, *, run_id: str, flt: LineFilter) -> int:
    """Matching lines, the open ones included."""
    if flt.regex is not None:
        return sum(1 for _ in iter_lines(conn, run_id=run_id, flt=flt))
    where, args = flt.where(conn, run_id)
    row = conn.exec_driver_sql(f"SELECT COUNT(*) FROM log_lines WHERE {where}", tuple(args)).first()
    return (int(row[0]) if row else 0) + sum(1 for r in open_rows(conn, run_id=run_id) if flt.matches(r))


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
    for _n, _at, tagged, level, _text, _display in open_rows(conn, run_id=run_id):
        source = split_source(tagged)[0]
        total += 1
        levels[LEVEL_NAMES.get(level, str(level))] = levels.get(LEVEL_NAMES.get(level, str(level)), 0) + 1
        sources[source] = sources.get(source, 0) + 1
    return {"total": total, "levels": levels, "sources": sources}


def clear(conn: Connection, *, run_id: str) -> dict[str, int]:
    """Delete a run's raw bytes and lines; offsets stay monotonic (new bytes continue after the old end)."""
    ph = placeholder(conn)
    size_row = conn.exec_driver_sql(f"SELECT log_size, log_trimmed FROM runs WHERE id = {ph}", (run_id,)).first()
    size, trimmed = (int(size_row[0]), int(size_row[1])) if size_row else (0, 0)
    lines = conn.exec_driver_sql(f"DELETE FROM log_lines WHERE run_id = {ph}", (run_id,)).rowcount
    chunks = conn.exec_driver_sql(f"DELETE FROM log_chunks WHERE run_id = {ph}", (run_id,)).rowcount
    conn.exec_driver_sql(f"UPDATE runs SET log_trimmed = log_size WHERE id = {ph}", (run_id,))
    line_index.reset(conn, run_id=run_id, offset=size)
    return {"bytes": size - trimmed, "chunks": chunks, "lines": lines}
