"""Log bookmarks (``log_bookmarks``) and log positions: where a line, a byte offset or a moment of a run is.

A position is what a permalink (``/runs/{id}?line=N``, ``?offset=B``, ``?t=EPOCH``) resolves to: the line to show
(its number, and its index among the run's stored lines, for a view that lists them in order), and the moment
(epoch seconds) for the terminal and the metrics time line. Raw byte offsets are not stored per line, so an
offset resolves through the time its chunk was written: the first line of that time on; ``exact`` says so.
"""

from __future__ import annotations

import time as clock
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select

from trainboard.server.store.bookmarks_tables import log_bookmarks
from trainboard.server.store.tables import log_chunks, log_lines, runs

#: Bookmarks one run may hold (a guard against a runaway script, not a quota anyone should meet).
MAX_PER_RUN = 10_000

#: A bookmark belongs to the run that had its id when it was made: one made before the run was created is of an
#: earlier run of that id (deleted, then the id used again) and is never shown with this one.
_OF_THIS_RUN = log_bookmarks.c.created_at >= (
    select(runs.c.created_at).where(runs.c.id == log_bookmarks.c.run_id).scalar_subquery()
)


def add(
    conn: Connection,
    *,
    run_id: str,
    line_number: int | None,
    offset: int | None,
    time: float | None,
    note: str,
    created_by: str | None,
) -> dict[str, Any]:
    values = {
        "run_id": run_id,
        "line_number": line_number,
        "offset": offset,
        "time": time,
        "note": note,
        "created_by": created_by,
        "created_at": clock.time(),
    }
    new_id = conn.execute(insert(log_bookmarks).values(**values)).inserted_primary_key
    assert new_id is not None
    return {"id": int(new_id[0]), **values}


def count(conn: Connection, *, run_id: str) -> int:
    stmt = select(func.count()).where(log_bookmarks.c.run_id == run_id, _OF_THIS_RUN)
    return int(conn.execute(stmt).scalar() or 0)


def list_for_run(conn: Connection, *, run_id: str, limit: int) -> list[dict[str, Any]]:
    """The run's bookmarks, oldest first (``limit`` at most)."""
    rows = conn.execute(
        select(log_bookmarks)
        .where(log_bookmarks.c.run_id == run_id, _OF_THIS_RUN)
        .order_by(log_bookmarks.c.id)
        .limit(limit)
    ).mappings()
    return [dict(r) for r in rows]


def get(conn: Connection, *, run_id: str, bookmark_id: int) -> dict[str, Any] | None:
    row = (
        conn.execute(
            select(log_bookmarks).where(
                log_bookmarks.c.run_id == run_id, log_bookmarks.c.id == bookmark_id, _OF_THIS_RUN
            )
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


def remove(conn: Connection, *, run_id: str, bookmark_id: int) -> bool:
    stmt = delete(log_bookmarks).where(log_bookmarks.c.run_id == run_id, log_bookmarks.c.id == bookmark_id)
    return conn.execute(stmt).rowcount > 0


def delete_run(conn: Connection, *, run_id: str) -> int:
    """Every bookmark of a run (the run is being deleted; until ``store.runs.delete_run`` calls this, a deleted
    run's bookmarks stay behind, hidden from a later run of the same id by ``_OF_THIS_RUN``)."""
    return conn.execute(delete(log_bookmarks).where(log_bookmarks.c.run_id == run_id)).rowcount


@dataclass(frozen=True)
class Position:
    """A resolved place in a run's log (see the module docstring). ``line_number`` is None when the run has no
    stored line; ``exact`` is False when the place asked for is not itself a stored line."""

    line_number: int | None
    index: int | None
    time: float | None
    offset: int | None
    exact: bool
    why: str | None = None


def line_time(conn: Connection, *, run_id: str, line_number: int) -> float | None:
    row = conn.execute(
        select(log_lines.c.time).where(log_lines.c.run_id == run_id, log_lines.c.line_number == line_number)
    ).first()
    return None if row is None else float(row[0])


def _index(conn: Connection, run_id: str, line_number: int) -> int:
    stmt = select(func.count()).where(log_lines.c.run_id == run_id, log_lines.c.line_number < line_number)
    return int(conn.execute(stmt).scalar() or 0)


def _line_row(conn: Connection, run_id: str, *conds: Any, last: bool = False) -> tuple[int, float] | None:
    order = log_lines.c.line_number.desc() if last else log_lines.c.line_number
    stmt = select(log_lines.c.line_number, log_lines.c.time).where(log_lines.c.run_id == run_id, *conds)
    row = conn.execute(stmt.order_by(order).limit(1)).first()
    return None if row is None else (int(row[0]), float(row[1]))


def _at(conn: Connection, run_id: str, row: tuple[int, float] | None, **kw: Any) -> Position:
    if row is None:
        return Position(line_number=None, index=None, time=kw.pop("time", None), **kw)
    kw.setdefault("time", row[1])
    return Position(line_number=row[0], index=_index(conn, run_id, row[0]), **kw)


def position_of_line(conn: Connection, *, run_id: str, line_number: int) -> Position:
    exact = _line_row(conn, run_id, log_lines.c.line_number == line_number)
    if exact is not None:
        return _at(conn, run_id, exact, offset=None, exact=True)
    later = _line_row(conn, run_id, log_lines.c.line_number > line_number)
    row = later or _line_row(conn, run_id, last=True)
    why = f"line {line_number} is not stored (not printed yet, or trimmed or cleared): the nearest line is shown"
    return _at(conn, run_id, row, offset=None, exact=False, why=why)


def position_at_time(conn: Connection, *, run_id: str, time: float) -> Position:
    """The last line printed at or before ``time`` (the first line when none was)."""
    row = _line_row(conn, run_id, log_lines.c.time <= time, last=True)
    why = None
    if row is None:
        row = _line_row(conn, run_id)
        why = "nothing was printed by then: the first line is shown"
    return _at(conn, run_id, row, offset=None, exact=False, time=time, why=why)


def position_of_offset(conn: Connection, *, run_id: str, offset: int) -> Position:
    """Through the time of the chunk holding byte ``offset``: the first line printed from then on."""
    chunk = conn.execute(
        select(log_chunks.c.time)
        .where(log_chunks.c.run_id == run_id, log_chunks.c.offset <= offset)
        .order_by(log_chunks.c.offset.desc())
        .limit(1)
    ).first()
    if chunk is None:
        row = _line_row(conn, run_id)
        why = f"byte {offset} is not stored (trimmed, or not written yet): the first line is shown"
        return _at(conn, run_id, row, offset=offset, exact=False, why=why)
    at = float(chunk[0])
    row = _line_row(conn, run_id, log_lines.c.time >= at) or _line_row(conn, run_id, last=True)
    why = "lines do not record byte offsets: the first line printed when that byte was written is shown"
    return _at(conn, run_id, row, offset=offset, exact=False, time=at, why=why)
