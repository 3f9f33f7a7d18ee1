"""Structured log lines, levels and cross-run search indexes (issue 28).

``log_line_fields``: the fields of each JSON / logfmt line. Full-text index over ``log_lines.text``: on
SQLite an external-content FTS5 table (``log_lines_fts``, rowid = the line's rowid) kept by triggers; on
PostgreSQL a GIN index on the text's words. A line's fields go with the line (triggers), so
every existing delete of lines (run deletion, retention, clearing) needs no change.

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_SQLITE = [
    "CREATE VIRTUAL TABLE log_lines_fts USING fts5(text, content='log_lines', content_rowid='rowid')",
    "CREATE TRIGGER log_lines_fts_ai AFTER INSERT ON log_lines BEGIN "
    "INSERT INTO log_lines_fts (rowid, text) VALUES (new.rowid, new.text); END",
    "CREATE TRIGGER log_lines_fts_ad AFTER DELETE ON log_lines BEGIN "
    "INSERT INTO log_lines_fts (log_lines_fts, rowid, text) VALUES ('delete', old.rowid, old.text); "
    "DELETE FROM log_line_fields WHERE run_id = old.run_id AND line_number = old.line_number; END",
    "CREATE TRIGGER log_lines_fts_au AFTER UPDATE OF text ON log_lines BEGIN "
    "INSERT INTO log_lines_fts (log_lines_fts, rowid, text) VALUES ('delete', old.rowid, old.text); "
    "INSERT INTO log_lines_fts (rowid, text) VALUES (new.rowid, new.text); END",
    "INSERT INTO log_lines_fts (log_lines_fts) VALUES ('rebuild')",
]

#: The indexed expression (``store.line_search`` queries it word for word).
PG_WORDS = "to_tsvector('simple', regexp_replace(text, '[^[:alnum:]]+', ' ', 'g'))"

_POSTGRESQL = [
    # words as FTS5's tokenizer sees them (runs of letters and digits): PostgreSQL's own parser keeps
    # `train.data`, paths, URLs and `<tags>` whole, so `data` would not find `train.data`
    f"CREATE INDEX ix_log_lines_text_fts ON log_lines USING gin ({PG_WORDS})",
    "CREATE FUNCTION log_line_fields_gone() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "DELETE FROM log_line_fields f USING gone g WHERE f.run_id = g.run_id AND f.line_number = g.line_number; "
    "RETURN NULL; END $$",
    "CREATE TRIGGER log_lines_fields_ad AFTER DELETE ON log_lines REFERENCING OLD TABLE AS gone "
    "FOR EACH STATEMENT EXECUTE FUNCTION log_line_fields_gone()",
]


def upgrade() -> None:
    op.create_table(
        "log_line_fields",
        sa.Column("run_id", sa.String(64), primary_key=True),
        sa.Column("line_number", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("level_name", sa.String(40)),
        sa.Column("level_no", sa.Integer),
        sa.Column("logger", sa.String(200)),
        sa.Column("logged_at", sa.Float),
        sa.Column("format", sa.String(8), nullable=False),
        sa.Column("fields", sa.Text, nullable=False, server_default="{}"),
    )
    op.create_index("ix_log_line_fields_logger", "log_line_fields", ["logger"])
    dialect = op.get_bind().dialect.name
    for statement in _SQLITE if dialect == "sqlite" else _POSTGRESQL if dialect == "postgresql" else []:
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for name in ("log_lines_fts_ai", "log_lines_fts_ad", "log_lines_fts_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS log_lines_fts")
    elif dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS log_lines_fields_ad ON log_lines")
        op.execute("DROP FUNCTION IF EXISTS log_line_fields_gone()")
        op.execute("DROP INDEX IF EXISTS ix_log_lines_text_fts")
    op.drop_index("ix_log_line_fields_logger", "log_line_fields")
    op.drop_table("log_line_fields")
