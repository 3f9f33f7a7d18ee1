"""Database engines: a reader pool and the single writer's engine, plus migrations.

SQLite runs in WAL mode with ``synchronous=FULL``: the server acknowledges a batch only after its
commit, and FULL makes that commit survive a power loss, not only a crash of the server process
(WAL + NORMAL would lose the last commits on power loss). The writer groups every job queued while
a commit is in flight into the next transaction, so the fsync is paid once per group, not per request.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.pool import NullPool

from trainboard.server.settings import Settings


@dataclass
class Engines:
    """The reader engine (a pool; used from worker threads) and the writer engine (one connection)."""

    reader: Engine
    writer: Engine

    def dispose(self) -> None:
        self.reader.dispose()
        self.writer.dispose()


def _sqlite_pragmas(dbapi_connection: Any) -> None:
    dbapi_connection.isolation_level = None  # let SQLAlchemy's "begin" hook issue BEGIN
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    # after a checkpoint, a WAL that one big transaction grew is truncated back to this size
    cur.execute("PRAGMA journal_size_limit=67108864")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA cache_size=-65536")
    cur.execute("PRAGMA temp_store=MEMORY")
    cur.close()


def _make_sqlite_engine(url: str, *, writer: bool) -> Engine:
    if writer:  # the writer thread holds its one connection for the server's lifetime
        engine = create_engine(url, connect_args={"check_same_thread": False}, poolclass=NullPool)
    else:
        engine = create_engine(url, connect_args={"check_same_thread": False}, pool_size=8, max_overflow=8)

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        _sqlite_pragmas(dbapi_connection)

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if writer else "BEGIN")

    return engine


def make_engines(settings: Settings) -> Engines:
    """Create (but do not connect) the engines for ``settings``."""
    url = settings.database_url
    if url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        return Engines(reader=_make_sqlite_engine(url, writer=False), writer=_make_sqlite_engine(url, writer=True))
    reader = create_engine(url, pool_size=8, max_overflow=8, pool_pre_ping=True)
    writer = create_engine(url, pool_size=2, max_overflow=0, pool_pre_ping=True)
    return Engines(reader=reader, writer=writer)


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("trainboard.server") / "migrations"))
    return cfg


def upgrade(engine: Engine) -> list[str]:
    """Apply pending migrations; return the table names afterwards."""
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    return inspect(engine).get_table_names()


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
