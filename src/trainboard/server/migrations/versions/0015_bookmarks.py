"""Log bookmarks (issue 28).

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # reserved in the chain; filled in with the tables it names


def downgrade() -> None:
    pass
