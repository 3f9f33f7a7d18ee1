"""Runs as experiments (issue 14): per-run metric summaries maintained at ingest, tags, notes, archive,
saved views and layouts.

Existing runs are brought along: their configs are flattened into ``run_config`` and their metric summaries
computed from the stored segments (the encoding of this revision: little-endian int64 steps and float64
values, later segments winning for a repeated step).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("notes", sa.Text, nullable=False, server_default=""))
        batch.add_column(sa.Column("archived", sa.Boolean, nullable=False, server_default="0"))
    op.create_table(
        "run_tags",
        sa.Column("run_id", sa.String(64), primary_key=True),
        sa.Column("tag", sa.String(128), primary_key=True),
    )
    op.create_index("ix_run_tags_tag", "run_tags", ["tag"])
    op.create_table(
        "run_config",
        sa.Column("run_id", sa.String(64), primary_key=True),
        sa.Column("key", sa.String(256), primary_key=True),
        sa.Column("num", sa.Float),
        sa.Column("text", sa.Text),
    )
    op.create_index("ix_run_config_key_num", "run_config", ["key", "num", "run_id"])
    op.create_table(
        "run_metric_summaries",
        sa.Column("run_id", sa.String(64), primary_key=True),
        sa.Column("key", sa.String(256), primary_key=True),
        sa.Column("last_step", sa.BigInteger),
        sa.Column("last_val", sa.Float),
        sa.Column("min_val", sa.Float),
        sa.Column("max_val", sa.Float),
        sa.Column("n", sa.BigInteger, nullable=False, server_default="0"),
    )
    op.create_index("ix_run_metric_summaries_key_last", "run_metric_summaries", ["key", "last_val", "run_id"])
    op.create_table(
        "saved_views",
        sa.Column("project", sa.String(256), primary_key=True),
        sa.Column("name", sa.String(128), primary_key=True),
        sa.Column("filter", sa.Text, nullable=False, server_default=""),
        sa.Column("sort", sa.String(300), nullable=False, server_default=""),
        sa.Column("columns", sa.Text, nullable=False, server_default="[]"),
        sa.Column("created_by", sa.String(256)),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_table(
        "layouts",
        sa.Column("project", sa.String(256), primary_key=True),
        sa.Column("owner", sa.String(256), primary_key=True),
        sa.Column("layout", sa.Text, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    conn = op.get_bind()
    _backfill_config(conn)
    _backfill_summaries(conn)


def _flatten(config: dict[str, Any], prefix: str = "") -> list[tuple[str, float | None, str]]:
    # a frozen copy of store/run_config.flatten as of this revision
    out: list[tuple[str, float | None, str]] = []
    for key, value in config.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out += _flatten(value, path + ".")
        elif isinstance(value, bool):
            out.append((path, float(value), json.dumps(value)))
        elif isinstance(value, int | float):
            number = float(value)
            out.append((path, number if math.isfinite(number) else None, json.dumps(value)))
        elif isinstance(value, str):
            out.append((path, None, value))
        else:
            out.append((path, None, json.dumps(value, ensure_ascii=False, default=str)))
    return out


def _backfill_config(conn: sa.Connection) -> None:
    insert = sa.text("INSERT INTO run_config (run_id, key, num, text) VALUES (:run_id, :key, :num, :text)")
    for run_id, text in conn.execute(sa.text("SELECT id, config FROM runs")).all():
        try:
            config = json.loads(text or "{}")
        except ValueError:
            continue
        if not isinstance(config, dict):
            continue
        rows: dict[str, dict[str, Any]] = {}
        for k, n, t in _flatten(config):
            k, t = k.replace("\x00", "\ufffd"), t.replace("\x00", "\ufffd")  # PostgreSQL text holds no NUL
            if len(k) <= 256 and k not in rows and len(rows) < 2000:
                rows[k] = {"run_id": run_id, "key": k, "num": n, "text": t}
        if rows:
            conn.execute(insert, list(rows.values()))


def _backfill_summaries(conn: sa.Connection) -> None:
    insert = sa.text(
        "INSERT INTO run_metric_summaries (run_id, key, last_step, last_val, min_val, max_val, n) "
        "VALUES (:run_id, :key, :last_step, :last_val, :min_val, :max_val, :n)"
    )
    series = conn.execute(sa.text("SELECT id, run_id, key FROM series")).all()
    for series_id, run_id, key in series:
        segments = conn.execute(
            sa.text("SELECT steps, vals FROM metric_segments WHERE series_id = :sid ORDER BY id"), {"sid": series_id}
        ).all()
        if not segments:
            continue
        steps = np.concatenate([np.frombuffer(bytes(s), "<i8") for s, _v in segments])
        values = np.concatenate([np.frombuffer(bytes(v), "<f8") for _s, v in segments])
        # the last write of a step wins: keep each step's last occurrence
        reversed_steps = steps[::-1]
        _uniq, first_from_end = np.unique(reversed_steps, return_index=True)
        keep = len(steps) - 1 - first_from_end
        steps, values = steps[keep], values[keep]
        finite = values[~np.isnan(values)]
        last = float(values[-1])
        conn.execute(
            insert,
            {
                "run_id": run_id,
                "key": key,
                "last_step": int(steps[-1]),
                "last_val": None if math.isnan(last) else last,
                "min_val": float(finite.min()) if len(finite) else None,
                "max_val": float(finite.max()) if len(finite) else None,
                "n": len(steps),
            },
        )


def downgrade() -> None:
    for table in ("layouts", "saved_views", "run_metric_summaries", "run_config", "run_tags"):
        op.drop_table(table)
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("archived")
        batch.drop_column("notes")
