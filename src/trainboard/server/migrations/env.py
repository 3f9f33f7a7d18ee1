"""Alembic environment: runs on the connection handed over by ``trainboard.server.store.engine.upgrade``."""

from __future__ import annotations

from alembic import context

from trainboard.server.store import (
    alerts_tables,  # noqa: F401  (registers the alert tables)
    auth_tables,  # noqa: F401  (registers the auth tables)
    bookmarks_tables,  # noqa: F401  (registers the log bookmarks table)
    line_fields_tables,  # noqa: F401  (registers the structured-line table)
    ranks_tables,  # noqa: F401  (registers the rank tables)
    rich_tables,  # noqa: F401  (registers the rich value table)
)
from trainboard.server.store.tables import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
