"""Terminal geometry of a run's raw log: the columns and rows the program saw, from a byte offset on.

A row holds the size in effect from ``offset`` until the next row's offset. Only changes are stored:
a size equal to the one already in effect at that offset is a no-op, so re-sent chunks and clients
that repeat their size with every chunk add nothing.
"""

from __future__ import annotations

from typing import TypedDict

from sqlalchemy import Connection

from trainboard.server.store.sql import placeholder


class TerminalSize(TypedDict):
    offset: int
    cols: int
    rows: int


def record(conn: Connection, *, run_id: str, offset: int, cols: int, rows: int) -> bool:
    """Record that the terminal was ``cols`` x ``rows`` from byte ``offset`` on; False when that size
    was already in effect there."""
    ph = placeholder(conn)
    current = conn.exec_driver_sql(
        f'SELECT "offset", cols, "rows" FROM terminal_sizes WHERE run_id = {ph} AND "offset" <= {ph} '
        f'ORDER BY "offset" DESC LIMIT 1',
        (run_id, offset),
    ).first()
    if current is not None and (int(current[1]), int(current[2])) == (cols, rows):
        return False
    if current is not None and int(current[0]) == offset:  # resized again before any byte: last one wins
        conn.exec_driver_sql(
            f'UPDATE terminal_sizes SET cols = {ph}, "rows" = {ph} WHERE run_id = {ph} AND "offset" = {ph}',
            (cols, rows, run_id, offset),
        )
    else:
        conn.exec_driver_sql(
            f'INSERT INTO terminal_sizes (run_id, "offset", cols, "rows") VALUES ({ph}, {ph}, {ph}, {ph})',
            (run_id, offset, cols, rows),
        )
    return True


def sizes(conn: Connection, *, run_id: str) -> list[TerminalSize]:
    """Every recorded size of the run, by offset."""
    ph = placeholder(conn)
    rows = conn.exec_driver_sql(
        f'SELECT "offset", cols, "rows" FROM terminal_sizes WHERE run_id = {ph} ORDER BY "offset"', (run_id,)
    ).all()
    return [TerminalSize(offset=int(r[0]), cols=int(r[1]), rows=int(r[2])) for r in rows]


def delete_run(conn: Connection, *, run_id: str) -> int:
    """Forget the run's sizes (the run is deleted); returns rows removed."""
    ph = placeholder(conn)
    return int(conn.exec_driver_sql(f"DELETE FROM terminal_sizes WHERE run_id = {ph}", (run_id,)).rowcount)
