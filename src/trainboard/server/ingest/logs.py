"""Terminal output and log lines: store, index into lines, trim, publish, tell the subscribers.

``append_raw`` is what ``trainboard run`` and the SDK's capture upload: in one writer job per part the raw
bytes are stored, the terminal sizes noted, the bytes indexed into lines (the write path's ``LogIndexer``)
and the run trimmed to its per-run limit; then the new final lines, the open lines and the bytes go to live
viewers, and ``TerminalOutput`` + ``LineBatch`` to the subscribers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING

from sqlalchemy import Connection

from trainboard.server.ingest.changes import Change, Line, LineBatch, RawChunk, TerminalOutput
from trainboard.server.observability.metrics import LOG_BYTES
from trainboard.server.store import log_lines as lines_store
from trainboard.server.store import logs as store
from trainboard.server.store import runs as runs_store
from trainboard.server.store import terminal_sizes
from trainboard.server.store.cursors import claim_batch
from trainboard.server.store.log_lines import LineRow
from trainboard.server.stream.publish import (
    publish_final_lines,
    publish_lines,
    publish_log_bytes,
    publish_open_lines,
    publish_rank_bytes,
)

if TYPE_CHECKING:
    from trainboard.server.ingest.path import WritePath
    from trainboard.server.state import AppState

#: A terminal size from a chunk's first byte on: (index of the chunk in the upload, columns, rows).
SizeAt = tuple[int, int, int]


@dataclass
class RawTotals:
    appended: int = 0
    duplicates: int = 0
    size: int = 0


def line_batch(path: WritePath, conn: Connection, run_id: str, rows: Sequence[LineRow]) -> list[Change]:
    """The ``LineBatch`` of newly final rows (nothing when there are none)."""
    if not rows:
        return []
    lines = tuple(Line(int(n), float(at), source, int(level), text) for n, at, source, level, text, _d in rows)
    return [LineBatch(**path.stamp(conn, run_id), lines=lines)]


async def append_raw(
    state: AppState, *, run_id: str, stream: str | None, chunks: list[store.Chunk], sizes: Sequence[SizeAt] = ()
) -> RawTotals | None:
    """Append raw terminal chunks (``None``: no such run). A big upload is written in parts, other writes
    going on between them."""
    path = state.ingest
    limit = state.settings.log_limit_per_run

    def job(conn: Connection, lo: int, hi: int) -> tuple[store.AppendResult | None, list[LineRow], list[LineRow]]:
        result = store.append(conn, run_id=run_id, stream=stream, chunks=chunks[lo:hi])
        if result is None:
            return None, [], []
        for i, cols, rows in sizes:
            at = result.offsets[i - lo] if lo <= i < hi else None
            if at is not None:
                terminal_sizes.record(conn, run_id=run_id, offset=at, cols=cols, rows=rows)
        lines = path.indexer.feed(conn, run_id, result.stored)
        if limit and result.appended:
            # over the per-run limit: trim to 90 % of it, so trimming (and its event) is not per append
            ext = store.extent(conn, run_id=run_id)
            if ext is not None and ext.size - ext.start > limit:
                store.trim_run(conn, run_id=run_id, keep_bytes=int(limit * 0.9), reason=f"per-run limit {limit} bytes")
        return result, lines, path.indexer.open_rows(run_id)

    def changes(conn: Connection, out: tuple[store.AppendResult | None, list[LineRow], list[LineRow]]) -> list[Change]:
        result, lines, _open = out
        if result is None or not result.stored:
            return []
        raw = tuple(RawChunk(end, source, at, data) for end, source, at, data in result.stored)
        return [
            TerminalOutput(**path.stamp(conn, run_id), stream=stream, chunks=raw),
            *line_batch(path, conn, run_id, lines),
        ]

    total = RawTotals()
    for lo, hi in store.parts(chunks):
        result, lines, still_open = await path.commit(partial(job, lo=lo, hi=hi), changes)
        if result is None:
            return None
        publish_lines(state.broker, run_id, lines)
        if result.stored:
            publish_open_lines(state.broker, run_id, still_open)
        publish_log_bytes(state.broker, run_id, result.stored)
        publish_rank_bytes(state.broker, run_id, result.stored, result.rank_ends)
        LOG_BYTES.inc(sum(len(c[3]) for c in result.stored))
        total.appended += result.appended
        total.duplicates += result.duplicates
        total.size = result.size
    return total


#: Notes a log clearing in its transaction (event, audit): ``record(conn, removed)``.
RecordFn = Callable[[Connection, dict[str, int]], None]

#: A structured line to add: (time, source, level, text); a multi-line text is split by the caller.
LineItem = tuple[float, str, int, str, str]


@dataclass
class LinePart:
    """One part of a posted line batch: its items and the seqs that claim it (``store.claim_batch``)."""

    items: list[LineItem]
    seqs: list[int] = field(default_factory=list)


async def append_lines(state: AppState, *, run_id: str, stream: str | None, parts: Sequence[LinePart]) -> int | None:
    """Add posted lines, part by part (``None``: no such run); returns how many lines were added (a part
    already stored, re-sent with the same seqs, adds none)."""
    path = state.ingest

    def job(conn: Connection, part: LinePart) -> list[LineRow] | None:
        if runs_store.get_run(conn, run_id=run_id) is None:
            return None
        if not claim_batch(conn, run_id=run_id, stream=stream, seqs=part.seqs):
            return []  # a re-sent batch (or part of one): already stored
        return path.indexer.add(conn, run_id, part.items)

    def changes(conn: Connection, rows: list[LineRow] | None) -> list[Change]:
        return line_batch(path, conn, run_id, rows or [])

    added = 0
    for part in parts:
        rows = await path.commit(partial(job, part=part), changes)
        if rows is None:
            return None
        publish_lines(state.broker, run_id, rows)
        added += len(rows)
    return added


async def clear_logs(state: AppState, *, run_id: str, record: RecordFn) -> dict[str, int] | None:
    """Delete the run's raw bytes and lines (``None``: no such run); ``record(conn, removed)`` notes it
    (event, audit) in the same transaction."""
    path = state.ingest

    def job(conn: Connection) -> dict[str, int] | None:
        if runs_store.get_run(conn, run_id=run_id) is None:
            return None
        path.indexer.forget(run_id)
        removed = lines_store.clear(conn, run_id=run_id)
        record(conn, removed)
        return removed

    return await path.commit(job)


async def flush_lines(state: AppState, run_ids: Sequence[str]) -> None:
    """Make the open lines of ``run_ids`` final (their output went quiet), publish and hand them on."""
    path = state.ingest

    def job(conn: Connection) -> dict[str, list[LineRow]]:
        return {run_id: path.indexer.flush(conn, run_id) for run_id in run_ids}

    def changes(conn: Connection, flushed: dict[str, list[LineRow]]) -> list[Change]:
        return [c for run_id, rows in flushed.items() for c in line_batch(path, conn, run_id, rows)]

    for run_id, lines in (await path.commit(job, changes)).items():
        publish_final_lines(state.broker, run_id, lines)


async def recover_lines(state: AppState) -> None:
    """At start: index whatever raw bytes lie after each run's indexed offset (a crash left them)."""
    path = state.ingest

    def changes(conn: Connection, found: dict[str, list[LineRow]]) -> list[Change]:
        return [c for run_id, rows in found.items() for c in line_batch(path, conn, run_id, rows)]

    for run_id, lines in (await path.commit(path.indexer.recover, changes)).items():
        publish_lines(state.broker, run_id, lines)
