"""Launch (issue 13): the provider and job id of a launched run, and the launch record.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "launches",
        sa.Column("run_id", sa.String(64), primary_key=True),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("job_id", sa.String(256)),
        sa.Column("launched_by", sa.String(256)),
        sa.Column("launched_at", sa.Float, nullable=False),
        sa.Column("spec", sa.Text, nullable=False, server_default="{}"),
        sa.Column("state", sa.String(16), nullable=False, server_default="queued"),
        sa.Column("native_state", sa.String(64)),
        sa.Column("reason", sa.Text),
        sa.Column("exit_code", sa.Integer),
        sa.Column("finished", sa.Boolean, nullable=False, server_default="0"),
        sa.Column("cancel_requested_at", sa.Float),
        sa.Column("cancelled_by", sa.String(256)),
        sa.Column("token_id", sa.Integer),
    )
    op.create_index("ix_launches_finished", "launches", ["finished"])


def downgrade() -> None:
    op.drop_index("ix_launches_finished", table_name="launches")
    op.drop_table("launches")
