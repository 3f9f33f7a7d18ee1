"""Turns stored raw bytes into log lines as they arrive: one ``LineSplitter`` per (run, source).

Used only inside writer jobs (the writer thread), so lines are inserted in the same transaction as the
bytes they come from, together with where the run's index stands (``store.line_index``: the raw offset
indexed and every splitter's state). The in-memory splitters are only a cache of that row:

* **Isolated per run.** Indexing a run runs in its own savepoint: if it fails, that run's raw bytes are
  still stored, its cached state is dropped, and the bytes are indexed again from its persisted offset
  with its next bytes (or at run end, or at the next server start). Another run's failing request
  (which makes the writer drop its whole cache) costs nobody anything: each run's state is reloaded
  from its row, open lines included.
* **Restartable.** After a crash or SIGKILL the persisted state matches the committed lines exactly; at
  start `recover` indexes whatever raw bytes lie after each run's offset. Zero lines are lost.

Lines still open (the live region: a bar redrawn with ``\\r``, the last line before a pause) are not
final. They are persisted with the state and shown provisionally (``/logs/lines``, ``/logs/latest``,
downloads, and ``{"type": "open"}`` on the line WebSocket) and become final on a newline / cursor
movement that leaves them behind (the splitter's rule), at run end (``flush``), or after
``LONG_IDLE_SECONDS`` without any new byte of the run (so a 2.5 s-per-step progress bar stays one line).

Structured lines (``loglines.structured``: a JSON or logfmt record) are stored with their message as the
line's text, their level's number as its level and their fields in ``log_line_fields`` (``store_final``);
the raw bytes, and so the terminal view, are untouched.

Terminal width: ``columns_at`` gives the terminal sizes recorded for a run (``store.terminal_sizes``);
each chunk is split at the width in effect at its first byte. Pass ``columns_at=None`` for unlimited
width.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from sqlalchemy import Connection

from trainboard.server.loglines import LineSplitter
from trainboard.server.loglines.level_names import STORED_UNKNOWN
from trainboard.server.loglines.structured import parse_structured
from trainboard.server.store import line_fields, line_index, log_lines
from trainboard.server.store import logs as logs_store

log = logging.getLogger(__name__)

#: Open lines become final after this many seconds without a new byte of their run. Long enough for any
#: realistic step time of a progress bar (a bar redrawn later than this shows its earlier state as a
#: line of its own), short enough that a run that went silent without ending gets its last lines.
LONG_IDLE_SECONDS = 600.0

#: (run_id, first offset, end offset) -> [(offset, columns)]: the width in effect at the first offset
#: (if any) and every change before the end offset, by offset.
ColumnsAt = Callable[[Connection, str, int, int], list[tuple[int, int]]]

#: (end offset, source, time, bytes) of a stored raw chunk
StoredChunk = tuple[int, str, float, bytes]


def recorded_columns(conn: Connection, run_id: str, start: int, end: int) -> list[tuple[int, int]]:
    """The terminal widths recorded for the run (``terminal_sizes``) that apply to bytes [start, end)."""
    from trainboard.server.store import terminal_sizes

    sizes = terminal_sizes.sizes(conn, run_id=run_id)
    out: list[tuple[int, int]] = []
    for size in sizes:
        if size["offset"] <= start:
            out = [(size["offset"], size["cols"])]
        elif size["offset"] < end:
            out.append((size["offset"], size["cols"]))
    return out


def store_final(conn: Connection, run_id: str, rows: list[log_lines.LineRow]) -> list[log_lines.LineRow]:
    """Insert final lines read from raw bytes; a structured one is stored as what it says (message, level
    number) with its fields beside it. Returns the rows as stored."""
    stored: list[log_lines.LineRow] = []
    fields: list[line_fields.FieldsRow] = []
    for row in rows:
        parsed = parse_structured(row[4])
        if parsed is None:
            stored.append(row)
            continue
        n, at, source, level, _text, display = row
        if parsed.level is not None:
            level = parsed.level_no if parsed.level_no is not None else STORED_UNKNOWN
        stored.append((n, at, source, level, parsed.message, display))
        fields.append((n, parsed.level, parsed.level_no, parsed.logger, parsed.logged_at, parsed.format, parsed.fields))
    log_lines.insert(conn, run_id=run_id, rows=stored)
    line_fields.insert(conn, run_id=run_id, rows=fields)
    return stored


@dataclass
class _RunIndex:
    offset: int  # raw bytes before this offset have been fed
    next_line: int
    splitters: dict[str, LineSplitter] = field(default_factory=dict)
    last_data: float = 0.0
    open_rows: list[log_lines.LineRow] = field(default_factory=list)


class LogIndexer:
    """The writer thread's line index (see the module docstring)."""

    def __init__(self, *, columns_at: ColumnsAt | None = recorded_columns) -> None:
        self._runs: dict[str, _RunIndex] = {}
        self._columns_at = columns_at

    # -- state ----------------------------------------------------------------------------------

    def _run(self, conn: Connection, run_id: str) -> _RunIndex:
        idx = self._runs.get(run_id)
        if idx is not None and (conn.dialect.name == "sqlite" or self._current(conn, run_id, idx)):
            return idx
        persisted = line_index.load(conn, run_id=run_id)
        splitters: dict[str, LineSplitter] = {}
        offset, last_data = 0, 0.0
        if persisted is not None:
            offset, last_data = persisted.offset, persisted.last_data
            for source, snap in persisted.splitters.items():
                try:
                    splitters[source] = LineSplitter.restore(snap)
                except (ValueError, KeyError, TypeError, IndexError):
                    # A state written by another version: its open lines are lost, nothing else is.
                    log.warning("run %s: the %s line state could not be restored; starting afresh", run_id, source)
        idx = _RunIndex(
            offset=offset,
            next_line=log_lines.next_line_number(conn, run_id=run_id),
            splitters=splitters,
            last_data=last_data,
        )
        idx.open_rows = self._open_rows(idx)
        self._runs[run_id] = idx
        return idx

    @staticmethod
    def _current(conn: Connection, run_id: str, idx: _RunIndex) -> bool:
        """Whether the cached state is still the persisted one. On PostgreSQL several server processes may
        index the same run (behind a load balancer, or after a failover): a cache another process moved past
        is reloaded (two indexed lookups per indexed batch). SQLite has one server process."""
        persisted = line_index.offset_of(conn, run_id=run_id)
        return (persisted or 0) == idx.offset and log_lines.next_line_number(conn, run_id=run_id) == idx.next_line

    def _open_rows(self, idx: _RunIndex) -> list[log_lines.LineRow]:
        rows: list[log_lines.LineRow] = []
        n = idx.next_line
        for source, splitter in idx.splitters.items():
            for line in splitter.pending():
                rows.append((n, line.timestamp, source, int(line.level), line.text, line.display))
                n += 1
        return rows

    def _save(self, conn: Connection, run_id: str, idx: _RunIndex) -> None:
        idx.open_rows = self._open_rows(idx)
        line_index.save(
            conn,
            run_id=run_id,
            offset=idx.offset,
            splitters={source: splitter.snapshot() for source, splitter in idx.splitters.items()},
            open_lines=[(r[2], r[1], r[3], r[4], r[5]) for r in idx.open_rows],
            last_data=idx.last_data,
        )

    def _isolated(
        self, conn: Connection, run_id: str, what: str, fn: Callable[[], list[log_lines.LineRow]]
    ) -> list[log_lines.LineRow]:
        """Run ``fn`` in a savepoint; on failure roll back only this run's indexing and forget its cache."""
        try:
            with conn.begin_nested():
                return fn()
        except Exception:
            log.exception("run %s: %s failed; its raw bytes are kept and will be indexed again", run_id, what)
            self._runs.pop(run_id, None)
            return []

    # -- feeding --------------------------------------------------------------------------------

    def feed(self, conn: Connection, run_id: str, chunks: list[StoredChunk]) -> list[log_lines.LineRow]:
        """Index stored chunks ((end offset, source, time, bytes)); returns the new final lines."""
        if not chunks:
            return []
        return self._isolated(conn, run_id, "line indexing", lambda: self._feed(conn, run_id, chunks))

    def _feed(self, conn: Connection, run_id: str, chunks: list[StoredChunk]) -> list[log_lines.LineRow]:
        idx = self._run(conn, run_id)
        first = chunks[0][0] - len(chunks[0][3])
        if first > idx.offset:  # bytes stored earlier but never indexed: take them first
            chunks = self._stored(conn, run_id, idx.offset, first) + chunks
        rows = self._index(conn, run_id, idx, chunks)
        rows = store_final(conn, run_id, rows)
        self._save(conn, run_id, idx)
        return rows

    def _stored(self, conn: Connection, run_id: str, start: int, end: int) -> list[StoredChunk]:
        return [
            (at + len(data), source, when, data)
            for at, source, when, data in logs_store.iter_range(conn, run_id=run_id, offset=start, limit=end - start)
        ]

    def _index(
        self, conn: Connection, run_id: str, idx: _RunIndex, chunks: list[StoredChunk]
    ) -> list[log_lines.LineRow]:
        widths: list[tuple[int, int]] = []
        if self._columns_at is not None:
            widths = self._columns_at(conn, run_id, max(idx.offset, chunks[0][0] - len(chunks[0][3])), chunks[-1][0])
        rows: list[log_lines.LineRow] = []
        for end, source, at, data in chunks:
            start = end - len(data)
            if end <= idx.offset:
                continue  # already indexed
            if start < idx.offset:
                data = data[idx.offset - start :]
                start = idx.offset
            splitter = idx.splitters.get(source)
            if splitter is None:
                splitter = idx.splitters[source] = LineSplitter()
            while widths and len(widths) > 1 and widths[1][0] <= start:
                widths.pop(0)
            if widths and widths[0][0] <= start and splitter.columns != widths[0][1]:
                splitter.resize(widths[0][1])
            for line in splitter.feed(data, at):
                rows.append((idx.next_line, line.timestamp, source, int(line.level), line.text, line.display))
                idx.next_line += 1
            idx.offset = end
        idx.last_data = time.time()
        return rows

    def add(
        self, conn: Connection, run_id: str, lines: list[tuple[float, str, int, str, str]]
    ) -> list[log_lines.LineRow]:
        """Store structured lines ((time, source, level, text, display)) posted by clients."""
        idx = self._run(conn, run_id)
        rows = []
        for at, source, level, text, display in lines:
            rows.append((idx.next_line, at, source, level, text, display))
            idx.next_line += 1
        log_lines.insert(conn, run_id=run_id, rows=rows)
        idx.open_rows = self._open_rows(idx)
        return rows

    def flush(self, conn: Connection, run_id: str) -> list[log_lines.LineRow]:
        """Make every open line of the run final (the run ended, or was idle for ``LONG_IDLE_SECONDS``),
        after indexing any stored bytes not indexed yet."""
        rows = self._isolated(conn, run_id, "finalising lines", lambda: self._flush(conn, run_id))
        self._runs.pop(run_id, None)  # persisted; a run that goes on reloads it (memory: active runs only)
        return rows

    def _flush(self, conn: Connection, run_id: str) -> list[log_lines.LineRow]:
        idx = self._run(conn, run_id)
        rows: list[log_lines.LineRow] = []
        extent = logs_store.extent(conn, run_id=run_id)
        if extent is not None and extent.size > idx.offset:
            rows += self._index(conn, run_id, idx, self._stored(conn, run_id, idx.offset, extent.size))
        if not rows and not idx.open_rows:
            self._save(conn, run_id, idx)  # nothing open (also clears a stale persisted open set)
            return []
        for source, splitter in idx.splitters.items():
            for line in splitter.flush():
                rows.append((idx.next_line, line.timestamp, source, int(line.level), line.text, line.display))
                idx.next_line += 1
        rows = store_final(conn, run_id, rows)
        self._save(conn, run_id, idx)
        return rows

    def open_rows(self, run_id: str) -> list[log_lines.LineRow]:
        """The run's open lines as last indexed (provisional line numbers: after the last final line)."""
        idx = self._runs.get(run_id)
        return list(idx.open_rows) if idx is not None else []

    def recover(self, conn: Connection) -> dict[str, list[log_lines.LineRow]]:
        """Index every run's stored bytes after its persisted offset (call at server start)."""
        out: dict[str, list[log_lines.LineRow]] = {}
        for run_id in line_index.lagging_runs(conn):
            rows = self._isolated(conn, run_id, "re-indexing", partial(self._catch_up, conn, run_id))
            if rows:
                out[run_id] = rows
        return out

    def _catch_up(self, conn: Connection, run_id: str) -> list[log_lines.LineRow]:
        idx = self._run(conn, run_id)
        extent = logs_store.extent(conn, run_id=run_id)
        if extent is None or extent.size <= idx.offset:
            return []
        rows = self._index(conn, run_id, idx, self._stored(conn, run_id, idx.offset, extent.size))
        idx.offset = extent.size  # a trimmed gap has nothing left to index
        rows = store_final(conn, run_id, rows)
        self._save(conn, run_id, idx)
        return rows

    def forget(self, run_id: str) -> None:
        """Drop the run's cached state (its logs were cleared or the run deleted)."""
        self._runs.pop(run_id, None)

    def reset(self) -> None:
        """Drop every run's cached state (a transaction rolled back: each run's state is then reloaded from
        its persisted row, which matches what was committed)."""
        self._runs.clear()
