"""Run costs and project budgets (issue 21): the $/hour a run is billed at and since when, and a budget per
project with the time its spending crossed it.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "run_costs",
        sa.Column("run_id", sa.String(64), primary_key=True),
        sa.Column("usd_per_hour", sa.Float),
        sa.Column("source", sa.Text, nullable=False, server_default=""),
        sa.Column("billed_from", sa.Float, nullable=False),
    )
    op.create_table(
        "project_budgets",
        sa.Column("project", sa.String(256), primary_key=True),
        sa.Column("usd", sa.Float, nullable=False),
        sa.Column("set_by", sa.String(256)),
        sa.Column("set_at", sa.Float, nullable=False),
        sa.Column("crossed_at", sa.Float),
        sa.Column("crossed_usd", sa.Float),
    )


def downgrade() -> None:
    op.drop_table("project_budgets")
    op.drop_table("run_costs")
