"""Structured log lines, levels and cross-run search indexes (issue 28).

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # reserved in the chain; filled in with the tables it names


def downgrade() -> None:
    pass
