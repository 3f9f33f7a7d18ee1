"""Where a run's raw log stood at a moment: the byte offset printed by a given time.

Every raw chunk carries the time it was produced, so the terminal's screen at a moment (a metric point's
timestamp, say) is the replay of the bytes before that offset, as asciinema's player seeks.
"""

from __future__ import annotations

from typing import TypedDict

from sqlalchemy import Connection

from trainboard.server.store.sql import placeholder


class LogMoment(TypedDict):
    offset: int
    chunk_time: float | None


def offset_at(conn: Connection, *, run_id: str, time: float) -> LogMoment:
    """The end offset of the last chunk produced at or before ``time`` (0 and no time when none was).

    Chunks are scanned from the end of the log backwards, so moments near the live edge answer at once.
    """
    ph = placeholder(conn)
    row = conn.exec_driver_sql(
        f'SELECT "offset", COALESCE(size, length(data)), time FROM log_chunks WHERE run_id = {ph} AND time <= {ph} '
        f'ORDER BY "offset" DESC LIMIT 1',
        (run_id, time),
    ).first()
    if row is None:
        return LogMoment(offset=0, chunk_time=None)
    return LogMoment(offset=int(row[0]) + int(row[1]), chunk_time=float(row[2]))
