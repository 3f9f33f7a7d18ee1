"""Structured-line table (migration 0014): the fields of each log line that was a JSON or logfmt record.

One row per structured line of ``log_lines`` (same key). Plain lines have none. Kept beside ``tables.py``
on the same ``metadata``; the Alembic environment imports this module. Migration 0014 also creates what the
metadata cannot say: the full-text index over ``log_lines.text`` (SQLite FTS5 table ``log_lines_fts`` kept
by triggers; PostgreSQL a GIN index on the text's words) and the triggers that delete a
line's fields with the line.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Float, Index, Integer, String, Table, Text

from trainboard.server.store.tables import metadata

log_line_fields = Table(
    "log_line_fields",
    metadata,
    Column("run_id", String(64), primary_key=True),
    Column("line_number", BigInteger, primary_key=True, autoincrement=False),
    Column("level_name", String(40)),  # as printed, upper-cased; NULL: the record named no level
    Column("level_no", Integer),  # NULL: a level name of unknown value
    Column("logger", String(200)),
    Column("logged_at", Float),  # the record's own time (epoch seconds), when it had a readable one
    Column("format", String(8), nullable=False),  # "json" | "logfmt"
    Column("fields", Text, nullable=False, server_default="{}"),  # JSON object: the keys not used above
    Index("ix_log_line_fields_logger", "logger"),
)
