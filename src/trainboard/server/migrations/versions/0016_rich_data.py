"""Rich data per step: histograms, images, text, tables (issue 29).

One row per (run, key, step) in ``rich_values``; image bytes are content-addressed files of the data directory.

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rich_values",
        sa.Column("run_id", sa.String(64), primary_key=True),
        sa.Column("key", sa.String(256), primary_key=True),
        sa.Column("step", sa.BigInteger, primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("time", sa.Float),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("blob", sa.String(64)),
        sa.Column("size", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("caption", sa.Text),
        sa.Column("truncated", sa.Text),
        sa.Column("stored_at", sa.Float, nullable=False),
    )
    op.create_index("ix_rich_values_run_kind", "rich_values", ["run_id", "kind"])


def downgrade() -> None:
    op.drop_index("ix_rich_values_run_kind", table_name="rich_values")
    op.drop_table("rich_values")
