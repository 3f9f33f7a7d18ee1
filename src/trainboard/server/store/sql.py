"""Small helpers for driver-level SQL shared by the store modules."""

from __future__ import annotations

from sqlalchemy import Connection


def placeholder(conn: Connection) -> str:
    """The DB-API placeholder for positional parameters (``?`` for sqlite3, ``%s`` for psycopg)."""
    return "?" if conn.dialect.paramstyle == "qmark" else "%s"


def placeholders(conn: Connection, n: int) -> str:
    ph = placeholder(conn)
    return ", ".join([ph] * n)
