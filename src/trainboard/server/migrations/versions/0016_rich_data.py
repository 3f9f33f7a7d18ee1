"""Rich data per step: histograms, images, text, tables (issue 29).

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # reserved in the chain; filled in with the tables it names


def downgrade() -> None:
    pass
