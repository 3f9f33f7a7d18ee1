"""Search across runs: lines of many runs matching a log query, newest first, page by page, through the
full-text index.

The index (migration 0014): on SQLite the FTS5 table ``log_lines_fts`` (external content: the lines' own
rowids), on PostgreSQL a GIN index on the text's words (``to_tsvector('simple', ...)`` of its runs of letters
and digits, the words FTS5 sees). Every word and phrase of the query that has word characters goes to the
index (a phrase as a phrase), so only lines holding all of them are read; each is then checked as a case-insensitive substring, like the run's own line filter. So across runs
a term matches **whole words** (``timeout`` finds ``NCCL timeout``, ``time`` does not); a term with no word
characters, or a query with none, is answered without the index (``indexed: false``: a scan, newest lines
first, stopped at the page). Open lines (a run's last line while it is still being written) are not
searchable until they are final.

Order: SQLite by storage order (the lines' rowid: the order they were indexed), PostgreSQL by line time;
newest first on both. The cursor is opaque. A query with ``/regex/`` terms is checked in Python and reads
at most ``MAX_EXAMINED`` candidate lines per page: a page that stops there says ``partial``.
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

MAX_EXAMINED = 50_000
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
    if dialect == "sqlite":
        if terms:
            source, order = (
                "log_lines_fts JOIN log_lines l ON l.rowid = log_lines_fts.rowid",
                "log_lines_fts.rowid DESC",
            )
            conds.insert(0, f"log_lines_fts MATCH {ph}")
            args.insert(0, _fts5(terms))
        else:
            source, order = "log_lines l", "l.rowid DESC"
        key_col, after_cond = "l.rowid", f"l.rowid < {ph}"
    else:
        if terms:
            ts = " && ".join([f"phraseto_tsquery('simple', {ph})"] * len(terms))
            conds.insert(0, f"{_PG_WORDS} @@ ({ts})")
            args[0:0] = [" ".join(_WORD.findall(t)) for t in terms]
        source, order = "log_lines l", "l.time DESC, l.run_id DESC, l.line_number DESC"
        key_col, after_cond = "l.time", f"(l.time, l.run_id, l.line_number) < ({placeholders(conn, 3)})"

    def page_sql(after: list[Any] | None) -> tuple[str, list[Any]]:
        where = list(conds) + ([after_cond] if after is not None else [])
        sql = (
            f"SELECT {key_col}, {cols} FROM {source} {joins} WHERE {' AND '.join(where) or '1 = 1'} "
            f"ORDER BY {order} LIMIT {ph}"
        )
        return sql, [*args, *(after[1:] if after is not None else [])]

    hits: list[dict[str, Any]] = []
    examined = 0
    batch = limit + 1 if not compiled.regexes else max(limit + 1, 500)
    more = partial = False
    while True:
        sql, sql_args = page_sql(after)
        rows = conn.exec_driver_sql(sql, (*sql_args, batch)).all()
        for row in rows:
            if len(hits) == limit:
                more = True
                break
            examined += 1
            after = (
                [dialect, int(row[0])] if dialect == "sqlite" else [dialect, float(row[3]), str(row[1]), int(row[2])]
            )
            if compiled.python_ok(row[6]):
                hits.append(_hit(row, query))
        if more or len(rows) < batch:
            break
        if examined >= MAX_EXAMINED:
            more = partial = True
            break
    return SearchPage(
        hits=hits,
        next_cursor=_encode(after) if more and after is not None else None,
        indexed=bool(terms),
        partial=partial,
    )


def _hit(row: Any, query: LogQuery) -> dict[str, Any]:
    _key, run_id, line_number, at, source, level, text, name, project, level_name, logger, fields, known_no = row
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
