"""Repair values stored by earlier versions that the API now refuses and could not serve back.

- JSON documents (run config, checkpoint metrics and metadata, event data) holding lone surrogates, nesting
  deeper than 32 levels or non-finite numbers (which came back as ``null``) are rewritten by
  ``trainboard.wire.repair_json``: U+FFFD for a lone surrogate, a marker string for a sub-document nested too
  deep, the ``"NaN"``/``"Infinity"``/``"-Infinity"`` token for a non-finite number. A document that is not
  readable JSON at all becomes ``{"<unreadable>": "<why>"}``.
- Times outside 1971-01-01 .. 2200-01-01 (a run dated year 9999 pinned itself to the top of the list, a raw
  chunk at 1e13 or a line at 1e300 stopped the TXT/CSV downloads mid-stream): a run's start time becomes its
  creation time where that is in range; anything else is clamped into the range.
- Exit codes outside a signed 32-bit integer are clamped into it.

Nothing is deleted. Downgrading keeps the repaired values (the originals could not be served anyway).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

from trainboard.wire import MAX_EXIT_CODE, MAX_JSON_DEPTH, MAX_TIME, MIN_EXIT_CODE, MIN_TIME, repair_json

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

#: (table, key column, JSON text columns)
_DOCS = [
    ("runs", "id", ("config",)),
    ("checkpoints", "id", ("metrics", "metadata")),
    ("events", "id", ("data",)),
]

#: (table, time columns)
_TIMES = [
    ("runs", ("start_time", "end_time", "heartbeat_time", "created_at")),
    ("events", ("time",)),
    ("checkpoints", ("created_at",)),
    ("log_chunks", ("time",)),
    ("log_lines", ("time",)),
]


def repaired_text(text: str | None) -> str | None:
    """The repaired JSON text for a stored document, or ``None`` when it is fine as it is."""
    if not text:
        return None
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError) as exc:
        return json.dumps({"<unreadable>": f"the stored document could not be read: {str(exc)[:200]}"})
    if not isinstance(doc, dict):
        return json.dumps({"<unreadable>": f"the stored document is not an object but {type(doc).__name__}"})
    fine = text.count("{") + text.count("[") <= MAX_JSON_DEPTH
    if fine:
        try:
            json.dumps(doc, ensure_ascii=False, allow_nan=False).encode()
        except (ValueError, UnicodeEncodeError, RecursionError):
            fine = False
    if fine:
        return None
    repaired = json.dumps(repair_json(doc), allow_nan=False)
    return None if repaired == text else repaired


def upgrade() -> None:
    conn = op.get_bind()
    for table, key, columns in _DOCS:
        for column in columns:
            rows = conn.execute(sa.text(f"SELECT {key}, {column} FROM {table}")).all()
            for ident, text in rows:
                new = repaired_text(text)
                if new is not None:
                    conn.execute(sa.text(f"UPDATE {table} SET {column} = :v WHERE {key} = :k"), {"v": new, "k": ident})
    bounds = {"lo": MIN_TIME, "hi": MAX_TIME}
    conn.execute(
        sa.text(
            "UPDATE runs SET start_time = created_at WHERE (start_time < :lo OR start_time > :hi) "
            "AND created_at >= :lo AND created_at <= :hi"
        ),
        bounds,
    )
    for table, columns in _TIMES:
        for column in columns:
            conn.execute(
                sa.text(
                    f"UPDATE {table} SET {column} = CASE WHEN {column} < :lo THEN :lo ELSE :hi END "
                    f"WHERE {column} < :lo OR {column} > :hi"
                ),
                bounds,
            )
    conn.execute(
        sa.text(
            "UPDATE runs SET exit_code = CASE WHEN exit_code < :lo THEN :lo ELSE :hi END "
            "WHERE exit_code < :lo OR exit_code > :hi"
        ),
        {"lo": MIN_EXIT_CODE, "hi": MAX_EXIT_CODE},
    )


def downgrade() -> None:
    pass  # the repaired values stay: the originals could not be served
