"""Initial schema: runs, metric series and columnar point segments, ingest cursors, raw logs, log lines, checkpoints,
events, host system metrics.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(512), nullable=False),
        sa.Column("project", sa.String(256), nullable=False, server_default="default"),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("config", sa.Text, nullable=False, server_default="{}"),
        sa.Column("start_time", sa.Float, nullable=False),
        sa.Column("end_time", sa.Float),
        sa.Column("exit_code", sa.Integer),
        sa.Column("heartbeat_time", sa.Float),
        sa.Column("last_step", sa.BigInteger),
        sa.Column("log_size", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("log_trimmed", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_index("ix_runs_start_time", "runs", ["start_time"])
    op.create_index("ix_runs_name_status", "runs", ["name", "status"])
    op.create_table(
        "series",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("key", sa.String(256), nullable=False),
        sa.Column("max_step", sa.BigInteger),
        sa.Column("tail_id", sa.Integer),
        sa.UniqueConstraint("run_id", "key", name="uq_series_run_key"),
    )
    op.create_table(
        "metric_segments",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("series_id", sa.Integer, nullable=False),
        sa.Column("first_step", sa.BigInteger, nullable=False),
        sa.Column("last_step", sa.BigInteger, nullable=False),
        sa.Column("n", sa.Integer, nullable=False),
        sa.Column("steps", sa.LargeBinary, nullable=False),
        sa.Column("vals", sa.LargeBinary, nullable=False),
        sa.Column("times", sa.LargeBinary, nullable=False),
    )
    op.create_index("ix_metric_segments_series_last", "metric_segments", ["series_id", "last_step"])
    op.create_table(
        "ingest_cursors",
        sa.Column("run_id", sa.String(64), primary_key=True),
        sa.Column("stream", sa.String(64), primary_key=True),
        sa.Column("max_seq", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "log_chunks",
        sa.Column("run_id", sa.String(64), primary_key=True),
        sa.Column("offset", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("source", sa.String(8), nullable=False),
        sa.Column("time", sa.Float, nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "log_lines",
        sa.Column("run_id", sa.String(64), primary_key=True),
        sa.Column("line_number", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("time", sa.Float, nullable=False),
        sa.Column("source", sa.String(8), nullable=False),
        sa.Column("level", sa.SmallInteger, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("display", sa.Text, nullable=False),
    )
    op.create_index("ix_log_lines_run_level", "log_lines", ["run_id", "level", "line_number"])
    op.create_table(
        "checkpoints",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("size", sa.BigInteger),
        sa.Column("step", sa.BigInteger),
        sa.Column("metrics", sa.Text, nullable=False, server_default="{}"),
        sa.Column("metadata", sa.Text, nullable=False, server_default="{}"),
        sa.Column("is_best", sa.Boolean, nullable=False, server_default="0"),
        sa.Column("valid", sa.Boolean, nullable=False, server_default="0"),
        sa.Column("invalid_reason", sa.Text),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_index("ix_checkpoints_run", "checkpoints", ["run_id", "created_at"])
    op.create_table(
        "events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("time", sa.Float, nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("data", sa.Text, nullable=False, server_default="{}"),
    )
    op.create_index("ix_events_run", "events", ["run_id", "id"])
    op.create_table(
        "system_metrics",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("time", sa.Float, nullable=False),
        sa.Column("data", sa.Text, nullable=False),
    )
    op.create_index("ix_system_metrics_time", "system_metrics", ["time"])


def downgrade() -> None:
    for name in (
        "system_metrics",
        "events",
        "checkpoints",
        "log_lines",
        "log_chunks",
        "ingest_cursors",
        "metric_segments",
        "series",
        "runs",
    ):
        op.drop_table(name)
