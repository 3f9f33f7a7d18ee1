"""Rich value table (migration 0016): one histogram, image, text or table per (run, key, step).

Kept beside ``tables.py`` on the same ``metadata``; the Alembic environment imports this module. An image's bytes
are not in the database: ``blob`` is the SHA-256 of a file under the data directory (``store/rich.py``).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Float, Index, String, Table, Text

from trainboard.server.store.tables import metadata

rich_values = Table(
    "rich_values",
    metadata,
    Column("run_id", String(64), primary_key=True),
    Column("key", String(256), primary_key=True),
    Column("step", BigInteger, primary_key=True),
    Column("kind", String(16), nullable=False),  # histogram | image | text | table
    Column("time", Float),  # wall time of the value (epoch seconds) as the client logged it
    Column("payload", Text, nullable=False),  # JSON: bins, text, table; an image's format, width, height
    Column("blob", String(64)),  # an image's SHA-256 (hex): its bytes are a file of the data directory
    Column("size", BigInteger, nullable=False, server_default="0"),  # bytes: the payload's JSON or the image file
    Column("caption", Text),
    Column("truncated", Text),  # what the client cut or left out (None: nothing)
    Column("stored_at", Float, nullable=False),
    Index("ix_rich_values_run_kind", "run_id", "kind"),
)
