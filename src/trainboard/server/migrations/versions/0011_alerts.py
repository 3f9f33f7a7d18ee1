"""Alerts: rules, alerts (one row per episode of a rule on a run), the notification outbox, and each run's
step progress (the stall watcher's input).

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

WIDE_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "alert_rules",
        sa.Column("id", WIDE_ID, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("project", sa.String(256)),
        sa.Column("run_id", sa.String(64)),
        sa.Column("condition", sa.Text, nullable=False),
        sa.Column("for_seconds", sa.Float, nullable=False, server_default="0"),
        sa.Column("repeat_seconds", sa.Float),
        sa.Column("channels", sa.Text, nullable=False, server_default="[]"),
        sa.Column("enabled", sa.Boolean, nullable=False, server_default="1"),
        sa.Column("muted_until", sa.Float),
        sa.Column("created_by", sa.String(256)),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_index("ix_alert_rules_project", "alert_rules", ["project"])
    op.create_index("ix_alert_rules_run", "alert_rules", ["run_id"])
    op.create_table(
        "alerts",
        sa.Column("id", WIDE_ID, primary_key=True, autoincrement=True),
        sa.Column("rule_id", sa.BigInteger),
        sa.Column("run_id", sa.String(64)),
        sa.Column("key", sa.String(256), nullable=False, server_default=""),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("level", sa.String(16), nullable=False, server_default="warning"),
        sa.Column("title", sa.String(512), nullable=False),
        sa.Column("message", sa.Text, nullable=False, server_default=""),
        sa.Column("value", sa.Float),
        sa.Column("step", sa.BigInteger),
        sa.Column("started_at", sa.Float, nullable=False),
        sa.Column("fired_at", sa.Float),
        sa.Column("resolved_at", sa.Float),
        sa.Column("acked_at", sa.Float),
        sa.Column("acked_by", sa.String(256)),
        sa.Column("notified_at", sa.Float),
    )
    op.create_index("ix_alerts_run", "alerts", ["run_id", "state"])
    op.create_index("ix_alerts_rule_run", "alerts", ["rule_id", "run_id", "key", "state"])
    op.create_table(
        "alert_deliveries",
        sa.Column("id", WIDE_ID, primary_key=True, autoincrement=True),
        sa.Column("alert_id", sa.BigInteger, nullable=False),
        sa.Column("channel", sa.Text, nullable=False),
        sa.Column("event", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", sa.Float, nullable=False),
        sa.Column("last_error", sa.Text),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("sent_at", sa.Float),
    )
    op.create_index("ix_alert_deliveries_due", "alert_deliveries", ["status", "next_attempt_at"])
    op.create_index("ix_alert_deliveries_alert", "alert_deliveries", ["alert_id"])
    op.create_table(
        "alert_progress",
        sa.Column("run_id", sa.String(64), primary_key=True),
        sa.Column("last_step", sa.BigInteger, nullable=False),
        sa.Column("last_step_at", sa.Float, nullable=False),
        sa.Column("median_interval", sa.Float),
    )


def downgrade() -> None:
    op.drop_table("alert_progress")
    op.drop_table("alert_deliveries")
    op.drop_table("alerts")
    op.drop_table("alert_rules")
