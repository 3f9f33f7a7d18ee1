"""Log bookmarks (issue 28): ``log_bookmarks``, a place in a run's log (line, byte offset, time) with a note.

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

WIDE_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "log_bookmarks",
        sa.Column("id", WIDE_ID, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("line_number", sa.BigInteger),
        sa.Column("offset", sa.BigInteger),
        sa.Column("time", sa.Float),
        sa.Column("note", sa.Text, nullable=False, server_default=""),
        sa.Column("created_by", sa.String(256)),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_index("ix_log_bookmarks_run", "log_bookmarks", ["run_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_log_bookmarks_run", table_name="log_bookmarks")
    op.drop_table("log_bookmarks")
