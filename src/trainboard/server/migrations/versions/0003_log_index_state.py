"""Per-run line index state (offset indexed, splitter state, open lines), so derived lines survive a
failed request of another run and a SIGKILL of the server.

Existing runs count as fully indexed up to their current log size (their lines were made by the
previous version; re-indexing them would duplicate lines).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "log_index_state",
        sa.Column("run_id", sa.String(64), primary_key=True),
        sa.Column("offset", sa.BigInteger, nullable=False),
        sa.Column("state", sa.Text, nullable=False, server_default="{}"),
        sa.Column("open_lines", sa.Text, nullable=False, server_default="[]"),
        sa.Column("open_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_data", sa.Float, nullable=False, server_default="0"),
    )
    op.create_index("ix_log_index_state_open", "log_index_state", ["open_count", "last_data"])
    op.execute(
        'INSERT INTO log_index_state (run_id, "offset", state, open_lines, open_count, last_data) '
        "SELECT id, log_size, '{}', '[]', 0, 0 FROM runs"
    )


def downgrade() -> None:
    op.drop_index("ix_log_index_state_open", table_name="log_index_state")
    op.drop_table("log_index_state")
