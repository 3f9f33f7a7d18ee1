"""Ranks of a distributed run (issue 27): ``run_ranks``, and the rank of raw chunks and lines.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "run_ranks",
        sa.Column("run_id", sa.String(64), primary_key=True),
        sa.Column("rank", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("local_rank", sa.Integer),
        sa.Column("node", sa.String(256)),
        sa.Column("node_rank", sa.Integer),
        sa.Column("world_size", sa.Integer),
        sa.Column("pid", sa.Integer),
        sa.Column("gpus", sa.Text),
        sa.Column("launcher", sa.String(16)),
        sa.Column("exit_code", sa.Integer),
        sa.Column("ended_at", sa.Float),
        sa.Column("error", sa.Text),
        sa.Column("log_size", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("last_step", sa.BigInteger),
        sa.Column("straggler_noted", sa.Boolean, nullable=False, server_default="0"),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    # Plain ADD COLUMN (nullable, no default) on both engines: no table rebuild of the big log tables.
    op.add_column("log_chunks", sa.Column("rank", sa.Integer))
    op.add_column("log_chunks", sa.Column("rank_offset", sa.BigInteger))
    op.create_index("ix_log_chunks_rank", "log_chunks", ["run_id", "rank", "rank_offset"])
    op.add_column("log_lines", sa.Column("rank", sa.Integer))
    op.create_index("ix_log_lines_run_rank", "log_lines", ["run_id", "rank", "line_number"])


def downgrade() -> None:
    op.drop_index("ix_log_lines_run_rank", table_name="log_lines")
    with op.batch_alter_table("log_lines") as batch:
        batch.drop_column("rank")
    op.drop_index("ix_log_chunks_rank", table_name="log_chunks")
    with op.batch_alter_table("log_chunks") as batch:
        batch.drop_column("rank_offset")
        batch.drop_column("rank")
    op.drop_table("run_ranks")
