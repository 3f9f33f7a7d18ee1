"""64-bit ids the API takes as JSON integers, and the launch permission an admin grants (issue 21).

PostgreSQL: ``api_tokens.id``, ``audit_log.id``, ``events.id``, ``system_metrics.id`` (and ``launches.token_id``,
which holds a token id) become BIGINT, their sequences too. With INTEGER columns the driver cast a parameter such
as ``/api/audit?before=2**53-1`` to a 32-bit integer and the request failed with a 500 ("integer out of range").
SQLite's INTEGER is already 64 bits: nothing to change there.

``users.can_launch``: a user who may launch runs without being an admin (``trainboard user update NAME --launch``).

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

#: (table, column, has its own sequence)
WIDENED = (
    ("api_tokens", "id", True),
    ("audit_log", "id", True),
    ("events", "id", True),
    ("system_metrics", "id", True),
    ("launches", "token_id", False),
)


def _retype(kind: str) -> None:
    for table, column, sequence in WIDENED:
        op.execute(f'ALTER TABLE "{table}" ALTER COLUMN "{column}" TYPE {kind}')
        if sequence:
            op.execute(
                f"DO $$ DECLARE seq text := pg_get_serial_sequence('{table}', '{column}'); BEGIN "
                f"IF seq IS NOT NULL THEN EXECUTE format('ALTER SEQUENCE %s AS {kind}', seq); END IF; END $$"
            )


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _retype("BIGINT")
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("can_launch", sa.Boolean, nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("can_launch")
    if op.get_bind().dialect.name == "postgresql":
        _retype("INTEGER")
