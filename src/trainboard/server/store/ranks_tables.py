"""Rank tables (migration 0013): one record per rank of a distributed run (issue 27).

Kept beside ``tables.py`` on the same ``metadata``; the Alembic environment imports this module. A rank's raw
terminal bytes stay in ``log_chunks`` (columns ``rank`` and ``rank_offset``) and its lines in ``log_lines``
(column ``rank``); its metric series live under the rank's own series owner (``store.ranks.series_owner``).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Float, Integer, String, Table, Text

from trainboard.server.store.tables import metadata

run_ranks = Table(
    "run_ranks",
    metadata,
    Column("run_id", String(64), primary_key=True),
    Column("rank", Integer, primary_key=True, autoincrement=False),
    Column("local_rank", Integer),
    Column("node", String(256)),
    Column("node_rank", Integer),
    Column("world_size", Integer),
    Column("pid", Integer),
    Column("gpus", Text),  # JSON list of GPU indices
    Column("launcher", String(16)),
    Column("exit_code", Integer),
    Column("ended_at", Float),
    Column("error", Text),
    Column("log_size", BigInteger, nullable=False, server_default="0"),  # end offset of the rank's own stream
    Column("last_step", BigInteger),  # the rank's last training step (steps of its points without one)
    Column("straggler_noted", Boolean, nullable=False, server_default="0"),  # its straggler event was recorded
    Column("updated_at", Float, nullable=False),
)
