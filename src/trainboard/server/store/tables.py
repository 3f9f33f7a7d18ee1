"""Table definitions (SQLAlchemy Core). Every change here needs an Alembic migration.

Times are epoch seconds (float) everywhere in storage; the API turns run/event times into ISO 8601.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

runs = Table(
    "runs",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(512), nullable=False),
    Column("project", String(256), nullable=False, server_default="default"),
    Column("status", String(16), nullable=False),
    Column("config", Text, nullable=False, server_default="{}"),  # JSON
    Column("start_time", Float, nullable=False),
    Column("end_time", Float),
    Column("exit_code", Integer),
    Column("heartbeat_time", Float),
    Column("last_step", BigInteger),
    Column("log_size", BigInteger, nullable=False, server_default="0"),
    Column("log_trimmed", BigInteger, nullable=False, server_default="0"),
    Column("created_at", Float, nullable=False),
    Index("ix_runs_start_time", "start_time"),
    Index("ix_runs_name_status", "name", "status"),
)

# One row per (run, metric key): points reference it by a small integer.
series = Table(
    "series",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(64), nullable=False),
    Column("key", String(256), nullable=False),
    UniqueConstraint("run_id", "key", name="uq_series_run_key"),
)

# Every point, one row each; reading one key is a primary-key range scan. NaN is stored as NULL.
metric_points = Table(
    "metric_points",
    metadata,
    Column("series_id", Integer, primary_key=True, autoincrement=False),
    Column("step", BigInteger, primary_key=True, autoincrement=False),
    Column("value", Float),
    Column("wall_time", Float, nullable=False),
    sqlite_with_rowid=False,
)

# Per client stream, the highest sequence number committed: a re-sent point is ignored.
ingest_cursors = Table(
    "ingest_cursors",
    metadata,
    Column("run_id", String(64), primary_key=True),
    Column("stream", String(64), primary_key=True),
    Column("max_seq", BigInteger, nullable=False),
)

# Raw terminal bytes, append-only; offsets are per run over both sources.
log_chunks = Table(
    "log_chunks",
    metadata,
    Column("run_id", String(64), primary_key=True),
    Column("offset", BigInteger, primary_key=True, autoincrement=False),
    Column("source", String(8), nullable=False),
    Column("time", Float, nullable=False),
    Column("data", LargeBinary, nullable=False),
)

# Lines derived from log_chunks (terminal semantics) plus structured lines posted by clients.
log_lines = Table(
    "log_lines",
    metadata,
    Column("run_id", String(64), primary_key=True),
    Column("line_number", BigInteger, primary_key=True, autoincrement=False),
    Column("time", Float, nullable=False),
    Column("source", String(8), nullable=False),
    Column("level", SmallInteger, nullable=False),
    Column("text", Text, nullable=False),
    Column("display", Text, nullable=False),
    Index("ix_log_lines_run_level", "run_id", "level", "line_number"),
)

checkpoints = Table(
    "checkpoints",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("run_id", String(64), nullable=False),
    Column("path", Text, nullable=False),
    Column("size", BigInteger),
    Column("step", BigInteger),
    Column("metrics", Text, nullable=False, server_default="{}"),
    Column("metadata", Text, nullable=False, server_default="{}"),
    Column("is_best", Boolean, nullable=False, server_default="0"),
    Column("valid", Boolean, nullable=False, server_default="0"),
    Column("invalid_reason", Text),
    Column("created_at", Float, nullable=False),
    Index("ix_checkpoints_run", "run_id", "created_at"),
)

events = Table(
    "events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(64), nullable=False),
    Column("time", Float, nullable=False),
    Column("kind", String(64), nullable=False),
    Column("message", Text, nullable=False),
    Column("data", Text, nullable=False, server_default="{}"),
    Index("ix_events_run", "run_id", "id"),
)

system_metrics = Table(
    "system_metrics",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("time", Float, nullable=False),
    Column("data", Text, nullable=False),  # JSON sample
    Index("ix_system_metrics_time", "time"),
)
