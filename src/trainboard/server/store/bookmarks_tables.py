"""The log bookmarks table (migration 0015): a place in a run's log (a line, a byte offset and/or a moment) with a
note, shared with everyone who can read the run.

Kept beside ``tables.py`` on the same ``metadata``; the Alembic environment imports this module.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Float, Index, String, Table, Text

from trainboard.server.store.tables import WIDE_ID, metadata

#: A note's longest length, in characters (the API refuses longer).
NOTE_MAX = 2000

# At least one of line_number, offset and time is set (the API refuses a bookmark of nothing); a bookmark of a
# line also records the line's time, so the metrics time line can show its moment.
log_bookmarks = Table(
    "log_bookmarks",
    metadata,
    Column("id", WIDE_ID, primary_key=True, autoincrement=True),
    Column("run_id", String(64), nullable=False),
    Column("line_number", BigInteger),
    Column("offset", BigInteger),  # a byte offset of the raw log
    Column("time", Float),  # epoch seconds
    Column("note", Text, nullable=False, server_default=""),
    Column("created_by", String(256)),
    Column("created_at", Float, nullable=False),
    Index("ix_log_bookmarks_run", "run_id", "id"),
)
