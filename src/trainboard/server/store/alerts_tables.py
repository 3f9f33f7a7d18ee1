"""Alert tables (migration 0011): rules, alerts (one row per (rule, run) episode), and the delivery outbox.

Kept beside ``tables.py`` on the same ``metadata``; the Alembic environment imports this module.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Float, Index, String, Table, Text

from trainboard.server.store.tables import WIDE_ID, metadata

# A rule applies to every run of ``project`` (present and future) or to one run (``run_id``).
alert_rules = Table(
    "alert_rules",
    metadata,
    Column("id", WIDE_ID, primary_key=True, autoincrement=True),
    Column("name", String(256), nullable=False),
    Column("project", String(256)),
    Column("run_id", String(64)),
    Column("condition", Text, nullable=False),  # JSON: {"kind": ..., "key": ..., params}
    Column("for_seconds", Float, nullable=False, server_default="0"),  # pending period before firing
    Column("repeat_seconds", Float),  # re-notify a still-firing alert this often (NULL: never)
    Column("channels", Text, nullable=False, server_default="[]"),  # JSON list of Apprise URLs (secret)
    Column("enabled", Boolean, nullable=False, server_default="1"),
    Column("muted_until", Float),  # a silence: no notifications before this time
    Column("created_by", String(256)),
    Column("created_at", Float, nullable=False),
    Index("ix_alert_rules_project", "project"),
    Index("ix_alert_rules_run", "run_id"),
)

# One row per episode of a (rule, run, key): pending -> firing -> resolved; acknowledging sets acked_at.
# rule_id is NULL for an explicit alert sent by the SDK (monitor.alert).
alerts = Table(
    "alerts",
    metadata,
    Column("id", WIDE_ID, primary_key=True, autoincrement=True),
    Column("rule_id", BigInteger),
    Column("run_id", String(64)),
    Column("key", String(256), nullable=False, server_default=""),  # what the condition watched (a metric key)
    Column("state", String(16), nullable=False),  # pending | firing | resolved
    Column("level", String(16), nullable=False, server_default="warning"),  # info | warning | error
    Column("title", String(512), nullable=False),
    Column("message", Text, nullable=False, server_default=""),
    Column("value", Float),
    Column("step", BigInteger),
    Column("started_at", Float, nullable=False),  # the condition first held (pending since)
    Column("fired_at", Float),
    Column("resolved_at", Float),
    Column("acked_at", Float),
    Column("acked_by", String(256)),
    Column("notified_at", Float),  # the last firing notification queued (for the repeat interval)
    Index("ix_alerts_run", "run_id", "state"),
    Index("ix_alerts_rule_run", "rule_id", "run_id", "key", "state"),
)

# The outbox: one row per (alert, channel, transition); the leader sends it, retries with backoff, and records
# each attempt's outcome here (shown with the alert).
alert_deliveries = Table(
    "alert_deliveries",
    metadata,
    Column("id", WIDE_ID, primary_key=True, autoincrement=True),
    Column("alert_id", BigInteger, nullable=False),
    Column("channel", Text, nullable=False),  # the URL (secret: shown masked)
    Column("event", String(16), nullable=False),  # firing | resolved | repeat | test
    Column("status", String(16), nullable=False),  # pending | sent | failed
    Column("attempts", BigInteger, nullable=False, server_default="0"),
    Column("next_attempt_at", Float, nullable=False),
    Column("last_error", Text),
    Column("created_at", Float, nullable=False),
    Column("sent_at", Float),
    Index("ix_alert_deliveries_due", "status", "next_attempt_at"),
    Index("ix_alert_deliveries_alert", "alert_id"),
)

# Per run: the last step seen and when, and the median interval between steps (the stall watcher's input,
# written by the rule engine at most about once a second per run).
alert_progress = Table(
    "alert_progress",
    metadata,
    Column("run_id", String(64), primary_key=True),
    Column("last_step", BigInteger, nullable=False),
    Column("last_step_at", Float, nullable=False),
    Column("median_interval", Float),
)
