"""Launch deploy lease: which server process is deploying a launch and until when its claim holds.

A server that dies between creating the launch (``queued``) and recording the provider's job id left the launch
queued forever. ``deploy_owner`` names the deploying process (host, boot, pid namespace, pid, start time) and
``deploy_until`` is the lease it renews while ``deploy`` runs; the launch watcher resolves a launch whose lease
expired or whose owner is gone (adopts the provider's job for that run, or fails the run).

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("launches") as batch:
        batch.add_column(sa.Column("deploy_owner", sa.String(512)))
        batch.add_column(sa.Column("deploy_until", sa.Float))


def downgrade() -> None:
    with op.batch_alter_table("launches") as batch:
        batch.drop_column("deploy_until")
        batch.drop_column("deploy_owner")
