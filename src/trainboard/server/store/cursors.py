"""Per client stream, the highest sequence number committed: what makes re-sending safe.

A client (the SDK's journal) numbers everything it sends - metric rows, log chunks, log records - in
one sequence per stream and sends in order, awaiting each acknowledgement; so anything at or below the
cursor was already stored and is ignored.
"""

from __future__ import annotations

from sqlalchemy import Connection

from trainboard.server.store.sql import placeholder


def stream_cursor(conn: Connection, *, run_id: str, stream: str) -> int:
    """Highest committed seq of a client stream (-1 when none)."""
    ph = placeholder(conn)
    row = conn.exec_driver_sql(
        f"SELECT max_seq FROM ingest_cursors WHERE run_id = {ph} AND stream = {ph}", (run_id, stream)
    ).first()
    return int(row[0]) if row else -1


def set_stream_cursor(conn: Connection, *, run_id: str, stream: str, seq: int) -> None:
    ph = placeholder(conn)
    conn.exec_driver_sql(
        f"INSERT INTO ingest_cursors (run_id, stream, max_seq) VALUES ({ph}, {ph}, {ph}) "
        "ON CONFLICT (run_id, stream) DO UPDATE SET max_seq = excluded.max_seq",
        (run_id, stream, seq),
    )


def advance_cursor(conn: Connection, *, run_id: str, stream: str, seq: int) -> None:
    """Move the cursor up to ``seq``; never lower it (another request of the stream may have committed a
    higher seq since this one read the cursor)."""
    top = max(seq, stream_cursor(conn, run_id=run_id, stream=stream))
    set_stream_cursor(conn, run_id=run_id, stream=stream, seq=top)


def claim_batch(conn: Connection, *, run_id: str, stream: str | None, seqs: list[int]) -> bool:
    """Dedupe of a batch as a whole (log lines): ``False`` when the stream already committed its highest seq
    (a re-sent batch, to ignore); else the cursor moves to it and ``True``. Without a stream or seqs: ``True``."""
    if stream is None or not seqs:
        return True
    top = max(seqs)
    if top <= stream_cursor(conn, run_id=run_id, stream=stream):
        return False
    set_stream_cursor(conn, run_id=run_id, stream=stream, seq=top)
    return True
