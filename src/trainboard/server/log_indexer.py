"""Turns stored raw bytes into log lines as they arrive: one ``LineSplitter`` per (run, source).

Used only inside writer jobs (the writer thread), so lines are inserted in the same transaction as the
bytes they come from. A server restart starts fresh splitters: a line that was half-written when the
server stopped is indexed as two lines (the raw bytes are exact regardless).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from sqlalchemy import Connection

from trainboard.server.loglines import LineSplitter
from trainboard.server.store import log_lines

#: After this many seconds without new bytes, a source's open lines are flushed (made final).
IDLE_FLUSH_SECONDS = 2.0


@dataclass
class _RunIndex:
    next_line: int
    splitters: dict[str, LineSplitter] = field(default_factory=dict)
    last_data: float = 0.0
    open_lines: bool = False


class LogIndexer:
    def __init__(self) -> None:
        self._runs: dict[str, _RunIndex] = {}
        #: Set when bytes were fed since the last flush; read from the event loop (a plain bool) so an
        #: idle server does not open a write transaction every half second just to find nothing to flush.
        self.may_have_open_lines = False

    def _run(self, conn: Connection, run_id: str) -> _RunIndex:
        idx = self._runs.get(run_id)
        if idx is None:
            idx = self._runs[run_id] = _RunIndex(next_line=log_lines.next_line_number(conn, run_id=run_id))
        return idx

    def feed(
        self, conn: Connection, run_id: str, chunks: list[tuple[int, str, float, bytes]]
    ) -> list[log_lines.LineRow]:
        """Index stored chunks ((end offset, source, time, bytes)); returns the new final lines."""
        if not chunks:
            return []
        idx = self._run(conn, run_id)
        rows: list[log_lines.LineRow] = []
        for _end, source, at, data in chunks:
            splitter = idx.splitters.get(source)
            if splitter is None:
                splitter = idx.splitters[source] = LineSplitter()
            for line in splitter.feed(data, at):
                rows.append((idx.next_line, line.timestamp, source, int(line.level), line.text, line.display))
                idx.next_line += 1
        idx.last_data = time.monotonic()
        idx.open_lines = True
        self.may_have_open_lines = True
        log_lines.insert(conn, run_id=run_id, rows=rows)
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
        return rows

    def flush(self, conn: Connection, run_id: str) -> list[log_lines.LineRow]:
        """Make every open line of the run final (run ended, or idle)."""
        idx = self._runs.get(run_id)
        if idx is None:
            return []
        rows: list[log_lines.LineRow] = []
        for source, splitter in idx.splitters.items():
            for line in splitter.flush():
                rows.append((idx.next_line, line.timestamp, source, int(line.level), line.text, line.display))
                idx.next_line += 1
        idx.open_lines = False
        log_lines.insert(conn, run_id=run_id, rows=rows)
        return rows

    def idle_runs(self, now: float | None = None) -> list[str]:
        now = time.monotonic() if now is None else now
        self.may_have_open_lines = any(idx.open_lines for idx in self._runs.values())
        return [r for r, idx in self._runs.items() if idx.open_lines and now - idx.last_data >= IDLE_FLUSH_SECONDS]

    def forget(self, run_id: str) -> None:
        self._runs.pop(run_id, None)


def indexer_of(cache: dict[str, object]) -> LogIndexer:
    """The writer's indexer (kept in the writer's cache, which is dropped when a transaction fails, so
    splitter state never runs ahead of what was committed)."""
    idx = cache.get("log_indexer")
    if not isinstance(idx, LogIndexer):
        idx = cache["log_indexer"] = LogIndexer()
    return idx
