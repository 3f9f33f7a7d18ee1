"""Search across runs: lines of many runs matching a log query, newest first, page by page, through the
full-text index.

The index (migration 0014): on SQLite the FTS5 table ``log_lines_fts`` (external content: the lines' own
rowids), on PostgreSQL a GIN index on the text's words (``to_tsvector('simple', ...)`` of its runs of
letters and digits, the words FTS5 sees). Every word and phrase of the query that has word characters goes
to the index (a phrase as a phrase), so only lines holding all of them are read; each is then checked as a
case-insensitive substring, like the run's own line filter. So across runs a term matches **whole words**
(``timeout`` finds ``NCCL timeout``, ``time`` does not); a term with no word characters, or a query with
none, is answered without the index (``indexed: false``: lines read newest first). Open lines (a run's last
line while it is still being written) are not searchable until they are final.

Order: SQLite by storage order (the lines' rowid: the order they were indexed), PostgreSQL by line time;
newest first on both. The cursor is opaque. Candidates are read in windows (``WINDOW``) and a page reads at
most ``MAX_EXAMINED`` of them (a common word with a filter that keeps few of its lines, a ``/regex/``): a
page that stops there says ``partial`` and its cursor goes on from there.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any

from sqlalchemy import Connection

from trainboard.server.loglines.query import LogQuery, QueryError
from trainboard.server.store.line_search_sql import compile_query
from trainboard.server.store.sql import placeholder, placeholders

#: Candidate lines (matching the query's words, or any line without words) are read in windows of this many,
#: newest first, the query's other terms applied to each window in SQL; a page stops after MAX_EXAMINED of
#: them (``partial``: more may match further on), so a common word with a rare filter costs a bounded time.
WINDOW = 20_000
MAX_EXAMINED = 200_000
_STANDARD = {5: "TRACE", 10: "DEBUG", 20: "INFO", 25: "SUCCESS", 30: "WARNING", 40: "ERROR", 50: "CRITICAL"}
_WORD = re.compile(r"[^\W_]+")
#: The expression migration 0014's GIN index is on: the text's words (runs of letters and digits), as FTS5 sees them.
_PG_WORDS = "to_tsvector('simple', regexp_replace(l.text, '[^[:alnum:]]+', ' ', 'g'))"


@dataclass
class SearchPage:
    hits: list[dict[str, Any]]
    next_cursor: str | None
    indexed: bool
    partial: bool


def index_terms(query: LogQuery) -> list[str]:
    """The positive words and phrases of the query that the full-text index can answer."""
    return [t.text for t in query.text_terms if not t.negated and _WORD.search(t.text)]


def _fts5(terms: list[str]) -> str:
    """An FTS5 MATCH expression: each term a phrase of its words (quotes doubled), all required."""
    return " AND ".join('"' + " ".join(_WORD.findall(t)).replace('"', '""') + '"' for t in terms)


def _encode(doc: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(doc, separators=(",", ":")).encode()).decode().rstrip("=")


def _decode(cursor: str, dialect: str) -> list[Any]:
    try:
        doc = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except ValueError:
        doc = None
    ok = isinstance(doc, list) and doc and doc[0] == dialect
    if ok and dialect == "sqlite":
        ok = len(doc) == 2 and isinstance(doc[1], int)
    elif ok:
        ok = len(doc) == 4 and isinstance(doc[1], int | float) and isinstance(doc[2], str) and isinstance(doc[3], int)
    if not ok:
        raise QueryError("not a cursor this search returned", 0, "cursor")
    return list(doc)


def spans(text: str, query: LogQuery) -> list[list[int]]:
    """Where the query's positive words and phrases occur in ``text`` (case-insensitive): [start, end) pairs."""
    folded = text.casefold()
    out: list[list[int]] = []
    for term in query.text_terms:
        if term.negated:
            continue
        needle = term.text.casefold()
        at = folded.find(needle)
        while at >= 0 and len(out) < 100:
            out.append([at, at + len(needle)])
            at = folded.find(needle, at + len(needle))
    return sorted(out)


def search(
    conn: Connection,
    *,
    query: LogQuery,
    tz: tzinfo,
    now: float,
    project: str | None = None,
    run_id: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> SearchPage:
    """One page of lines matching ``query`` across runs (of ``project``; only ``run_id`` when given)."""
    dialect = conn.dialect.name
    ph = placeholder(conn)
    compiled = compile_query(conn, query, tz=tz, now=now, line="l")
    conds, args = list(compiled.conds), list(compiled.args)
    if project is not None:
        conds.append(f"r.project = {ph}")
        args.append(project)
    if run_id is not None:
        conds.append(f"l.run_id = {ph}")
        args.append(run_id)
    terms = index_terms(query)
    after = _decode(cursor, dialect) if cursor else None
    cols = (
        "l.run_id, l.line_number, l.time, l.source, l.level, l.text, r.name, r.project, lf.level_name, lf.logger, "
        "lf.fields, lf.level_no"
    )
    joins = "JOIN runs r ON r.id = l.run_id LEFT JOIN log_line_fields lf ON lf.run_id = l.run_id " + (
        "AND lf.line_number = l.line_number"
    )
    match: list[str] = []  # the index's condition alone: what windows are counted on
    match_args: list[Any] = []
    if dialect == "sqlite":
        if terms:
            source = "log_lines_fts JOIN log_lines l ON l.rowid = log_lines_fts.rowid"
            match, match_args = [f"log_lines_fts MATCH {ph}"], [_fts5(terms)]
            key, scan = "log_lines_fts.rowid", "log_lines_fts"
        else:
            source, key, scan = "log_lines l", "l.rowid", "log_lines l"
        order = f"{key} DESC"
        before, from_ = f"{key} < {ph}", f"{key} >= {ph}"
    else:
        if terms:
            ts = " && ".join([f"phraseto_tsquery('simple', {ph})"] * len(terms))
            match, match_args = [f"{_PG_WORDS} @@ ({ts})"], [" ".join(_WORD.findall(t)) for t in terms]
        source = scan = "log_lines l"
        key = "l.time, l.run_id, l.line_number"
        order = "l.time DESC, l.run_id DESC, l.line_number DESC"
        before, from_ = f"({key}) < ({placeholders(conn, 3)})", f"({key}) >= ({placeholders(conn, 3)})"

    def where(extra: list[str]) -> str:
        return " AND ".join(extra) or "1 = 1"

    def boundary(after: list[Any] | None) -> list[Any] | None:
        """The last position of the next window of WINDOW candidate lines (None: fewer remain)."""
        conds_ = match + ([before] if after is not None else [])
        row = conn.exec_driver_sql(
            f"SELECT {key} FROM {scan} WHERE {where(conds_)} ORDER BY {order} LIMIT 1 OFFSET {WINDOW - 1}",
            (*match_args, *(after[1:] if after is not None else [])),
        ).first()
        return None if row is None else [dialect, *row]

    def rows_of(after: list[Any] | None, bound: list[Any] | None, n: int) -> list[Any]:
        conds_ = match + conds + ([before] if after is not None else []) + ([from_] if bound is not None else [])
        params = [*match_args, *args, *(after[1:] if after else []), *(bound[1:] if bound else [])]
        return list(
            conn.exec_driver_sql(
                f"SELECT {key}, {cols} FROM {source} {joins} WHERE {where(conds_)} ORDER BY {order} LIMIT {ph}",
                (*params, n),
            ).all()
        )

    width = 1 if dialect == "sqlite" else 3
    hits: list[dict[str, Any]] = []
    examined = 0
    batch = limit + 1 if not compiled.regexes else max(limit + 1, 500)
    more = partial = False
    position = after
    while True:
        bound = boundary(position)
        while True:
            rows = rows_of(position, bound, batch)
            for row in rows:
                if len(hits) == limit:
                    more = True
                    break
                position = [dialect, *row[:width]]
                if compiled.python_ok(row[width + 5]):
                    hits.append(_hit(row[width:], query))
            if more or len(rows) < batch:
                break
        if more or bound is None:
            break
        examined += WINDOW
        position = bound
        if examined >= MAX_EXAMINED:
            more = partial = True
            break
    return SearchPage(
        hits=hits,
        next_cursor=_encode(position) if more and position is not None else None,
        indexed=bool(terms),
        partial=partial,
    )


def _hit(row: Any, query: LogQuery) -> dict[str, Any]:
    run_id, line_number, at, source, level, text, name, project, level_name, logger, fields, known_no = row
    return {
        "run_id": str(run_id),
        "run_name": name,
        "project": project,
        "line": int(line_number),
        "timestamp": float(at),
        "source": source,
        "level": level_name or _STANDARD.get(int(level), f"LEVEL {level}"),
        "level_no": int(level) if level_name is None else known_no,
        "logger": logger,
        "fields": json.loads(fields) if fields else None,
        "message": text,
        "match": spans(text, query),
    }
