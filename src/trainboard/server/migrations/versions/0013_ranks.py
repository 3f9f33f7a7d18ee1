"""Ranks of a distributed run (issue 27).

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # reserved in the chain; filled in with the tables it names


def downgrade() -> None:
    pass
