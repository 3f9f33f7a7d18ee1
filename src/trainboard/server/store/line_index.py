"""Where each run's line index stands, persisted with the lines it produced (table ``log_index_state``).

One row per run: ``offset`` is the end of the raw bytes (``log_chunks``) already fed to the run's line
splitters, ``state`` their whole state (``LineSplitter.snapshot()`` per source, JSON), ``open_lines``
the lines still open (shown provisionally: a bar that is still being redrawn, the last line before a
pause), ``last_data`` the wall-clock time the run's last indexed bytes arrived.

The row is written in the same transaction as the lines, so after any failure or a SIGKILL the state
on disk matches the lines on disk exactly; the bytes after ``offset`` (if indexing of a run failed, or
ran behind) are re-indexed from ``log_chunks``. A run without a row has indexed nothing: it starts at
its first stored byte.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from trainboard.server.store.sql import placeholder, placeholders

#: (source, time, level, text, display) of a line that is still open
OpenLine = tuple[str, float, int, str, str]


@dataclass
class IndexState:
    offset: int
    splitters: dict[str, dict[str, Any]] = field(default_factory=dict)
    last_data: float = 0.0


def load(conn: Connection, *, run_id: str) -> IndexState | None:
    """The run's persisted index state; None when it has none yet."""
    ph = placeholder(conn)
    row = conn.exec_driver_sql(
        f'SELECT "offset", state, last_data FROM log_index_state WHERE run_id = {ph}', (run_id,)
    ).first()
    if row is None:
        return None
    state = json.loads(row[1]) if row[1] else {}
    return IndexState(offset=int(row[0]), splitters=dict(state.get("splitters", {})), last_data=float(row[2]))


def offset_of(conn: Connection, *, run_id: str) -> int | None:
    """Where the run's persisted index stands (``None``: nothing indexed yet), without loading its state."""
    ph = placeholder(conn)
    row = conn.exec_driver_sql(f'SELECT "offset" FROM log_index_state WHERE run_id = {ph}', (run_id,)).first()
    return None if row is None else int(row[0])


def save(
    conn: Connection,
    *,
    run_id: str,
    offset: int,
    splitters: dict[str, dict[str, Any]],
    open_lines: list[OpenLine],
    last_data: float,
) -> None:
    """Persist where the run's index stands (in the transaction that stored its lines)."""
    conn.exec_driver_sql(
        f'INSERT INTO log_index_state (run_id, "offset", state, open_lines, open_count, last_data) '
        f"VALUES ({placeholders(conn, 6)}) ON CONFLICT (run_id) DO UPDATE SET "
        f'"offset" = excluded."offset", state = excluded.state, open_lines = excluded.open_lines, '
        f"open_count = excluded.open_count, last_data = excluded.last_data",
        (
            run_id,
            offset,
            json.dumps({"splitters": splitters}, separators=(",", ":")),
            json.dumps(open_lines, separators=(",", ":")),
            len(open_lines),
            last_data,
        ),
    )


def open_lines(conn: Connection, *, run_id: str) -> list[OpenLine]:
    """The run's lines that are still open, in order (empty when none)."""
    ph = placeholder(conn)
    row = conn.exec_driver_sql(
        f"SELECT open_lines FROM log_index_state WHERE run_id = {ph} AND open_count > 0", (run_id,)
    ).first()
    if row is None:
        return []
    return [(str(s), float(t), int(lv), str(x), str(d)) for s, t, lv, x, d in json.loads(row[0])]


def idle_runs(conn: Connection, *, quiet_since: float) -> list[str]:
    """Runs with open lines and no new bytes since ``quiet_since`` (epoch seconds)."""
    ph = placeholder(conn)
    rows = conn.exec_driver_sql(
        f"SELECT s.run_id FROM log_index_state s JOIN runs r ON r.id = s.run_id "
        f"WHERE s.open_count > 0 AND s.last_data < {ph}",
        (quiet_since,),
    ).all()
    return [str(r[0]) for r in rows]


def lagging_runs(conn: Connection) -> list[str]:
    """Runs with stored raw bytes that were never indexed (a failed or interrupted indexing)."""
    rows = conn.exec_driver_sql(
        "SELECT r.id FROM runs r LEFT JOIN log_index_state s ON s.run_id = r.id "
        'WHERE r.log_size > COALESCE(s."offset", 0)'
    ).all()
    return [str(r[0]) for r in rows]


def reset(conn: Connection, *, run_id: str, offset: int) -> None:
    """Start the run's index afresh at ``offset`` (its logs were cleared: new bytes begin there)."""
    save(conn, run_id=run_id, offset=offset, splitters={}, open_lines=[], last_data=0.0)


def delete_run(conn: Connection, *, run_id: str) -> int:
    """Forget the run's index state (the run is deleted); returns rows removed."""
    ph = placeholder(conn)
    return int(conn.exec_driver_sql(f"DELETE FROM log_index_state WHERE run_id = {ph}", (run_id,)).rowcount)
