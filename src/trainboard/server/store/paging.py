"""Long reads in short transactions.

A download or export streamed to a slow client must not hold one read transaction open while the client
reads: on SQLite a reader pins the write-ahead log (no checkpoint can recycle it past the reader's
snapshot, so the WAL grows with every write for as long as the download lasts); on PostgreSQL it holds
back vacuum. :func:`paged` reads one page per connection and transaction and hands the rows out only
after the connection is back in the pool.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TypeVar

from sqlalchemy import Connection, Engine

T = TypeVar("T")
C = TypeVar("C")

#: Rows per page: small enough for a short transaction, large enough that the query cost stays low.
PAGE_ROWS = 2000


def paged(engine: Engine, fetch: Callable[[Connection, C], tuple[list[T], C | None]], start: C) -> Iterator[T]:
    """The rows of ``fetch(conn, cursor) -> (rows, next cursor or None at the end)``, from ``start``, each
    page read in its own short transaction."""
    cursor: C | None = start
    while cursor is not None:
        with engine.connect() as conn:
            rows, cursor = fetch(conn, cursor)
        yield from rows
