"""Log lines: structured posts, filtered listing, latest, summary, download, clear, and the line
WebSocket. Lines are derived from the same stored raw bytes (terminal semantics: a ``\\r``-redrawn bar is
one line in its final state) plus lines clients post (source ``sdk`` or ``user``).

Level rules: see ``trainboard.server.loglines.levels`` (and the README).
"""

from __future__ import annotations

import csv
import io
import json
import re
import time
from collections.abc import Iterator
from datetime import datetime
from itertools import islice, pairwise
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, WebSocket
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool

from trainboard.server.api import log_query, rank_logs
from trainboard.server.api.errors import invalid, not_found
from trainboard.server.api.schemas import EpochSeconds, InModel, QueryTime
from trainboard.server.api.sockets import serve_socket
from trainboard.server.auth.audit import client_ip
from trainboard.server.auth.identity import Caller
from trainboard.server.ingest import logs as ingest_logs
from trainboard.server.ingest.logs import LinePart, append_lines
from trainboard.server.state import AppState, State, get_state
from trainboard.server.store import audit as audit_store
from trainboard.server.store import log_lines as store
from trainboard.server.store import runs as runs_store
from trainboard.server.store.events import add_event
from trainboard.server.store.paging import PAGE_ROWS, paged
from trainboard.server.stream import topics
from trainboard.server.stream.catch_up import CatchUp
from trainboard.server.stream.poll import POLL
from trainboard.wire import ID_PATTERN, MAX_JSON_INT

router = APIRouter(prefix="/api/runs/{run_id}/logs", tags=["log lines"])

_LEVEL = "(debug|info|warning|error|critical|DEBUG|INFO|WARNING|ERROR|CRITICAL)"
#: One level (that level and above) or a comma list (exactly those), as the filter parameters take them.
LEVELS_PATTERN = f"^{_LEVEL}(,{_LEVEL})*$"
_SOURCE = "(stdout|stderr|sdk|user)"
SOURCES_PATTERN = f"^{_SOURCE}(,{_SOURCE})*$"

LevelName = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL", "debug", "info", "warning", "error", "critical"]


class LogLineIn(InModel):
    seq: int | None = Field(
        None, ge=0, le=MAX_JSON_INT, description="Per-stream sequence number (with the batch's stream)"
    )
    message: str = Field(max_length=1_000_000)
    level: LevelName = "INFO"
    source: Literal["sdk", "user"] = "user"
    logger: str | None = Field(None, max_length=200)
    timestamp: EpochSeconds | None = None


class LogBatchIn(InModel):
    stream: str | None = Field(None, pattern=ID_PATTERN, description="Client stream for seq dedupe")
    lines: list[LogLineIn] = Field(max_length=100_000)


class LogLineOut(BaseModel):
    line_number: int
    timestamp: float
    source: str
    rank: int | None = Field(None, description="The rank whose stream the line is from (a distributed run)")
    level: str
    message: str = Field(description="Plain text, escape sequences removed (what search matches)")
    display: str = Field(description="The text with its ANSI colour sequences, for display")
    provisional: bool = Field(
        False,
        description="An open line: still being redrawn (a progress bar) or the last line before a pause. It "
        "comes after the final lines; its number will hold its final state (or another open line) later.",
    )
    level_no: int | None = Field(None, description="The level's number (null: a program's level of unknown value)")
    fields: dict[str, Any] | None = Field(None, description="A structured (JSON / logfmt) line's other fields")
    logger: str | None = Field(None, description="A structured line's logger")
    logged_at: float | None = Field(None, description="A structured line's own time (epoch seconds)")


class LogLineList(BaseModel):
    lines: list[LogLineOut]
    total: int | None = Field(description="Matching lines in all (omitted with count=false)")
    next_cursor: int | None = Field(description="Pass as `after` for the next page; null at the end")


class LogSummary(BaseModel):
    total: int
    levels: dict[str, int]
    sources: dict[str, int]


def _filter(
    level: str | None,
    source: str | None,
    search: str | None,
    regex: str | None,
    since: datetime | None,
    until: datetime | None,
) -> store.LineFilter:
    flt = store.LineFilter(search=search or None)
    if level:
        _levels(flt, level)
    if source:
        sources = [p.strip() for p in source.split(",") if p.strip()]
        bad = [s for s in sources if s not in store.SOURCES]
        if bad or not sources:
            invalid(["query", "source"], f"unknown source {', '.join(bad) or source!r}: use stdout, stderr, sdk, user")
        flt.sources = sources
    if regex:
        try:
            flt.regex = re.compile(regex)
        except re.error as exc:
            invalid(["query", "regex"], f"invalid regular expression: {exc}")
    flt.since = since.timestamp() if since else None
    flt.until = until.timestamp() if until else None
    return flt


def _levels(flt: store.LineFilter, level: str) -> None:
    """``level``: one name (that level and above) or a comma list (exactly those)."""
    names = [p.strip().upper() for p in level.split(",") if p.strip()]
    unknown = [n for n in names if n not in store.LEVELS]
    if unknown or not names:
        invalid(
            ["query", "level"],
            f"unknown level {', '.join(unknown) or level!r}: use one of "
            "debug, info, warning, error, critical (one = that level and above; a comma list = exactly those)",
        )
    if len(names) == 1:
        flt.min_level = store.LEVELS[names[0]]
    else:
        flt.levels = [store.LEVELS[n] for n in names]


def _run_or_404(conn: Connection, run_id: str) -> None:
    if runs_store.get_run(conn, run_id=run_id) is None:
        not_found("run", run_id)


@router.get("/lines", response_model=LogLineList)
def list_lines(
    run_id: str,
    state: State,
    level: Annotated[
        str | None,
        Query(pattern=LEVELS_PATTERN, description="Minimum level (`warning`), or an exact set (`error,critical`)"),
    ] = None,
    source: Annotated[
        str | None, Query(pattern=SOURCES_PATTERN, description="stdout, stderr, sdk, user (comma-separated)")
    ] = None,
    search: Annotated[str | None, Query(max_length=1000, description="Case-insensitive substring")] = None,
    regex: Annotated[str | None, Query(max_length=1000, description="Python regular expression")] = None,
    since: Annotated[QueryTime | None, Query(description="ISO 8601 time or epoch seconds")] = None,
    until: Annotated[QueryTime | None, Query(description="ISO 8601 time or epoch seconds")] = None,
    after: Annotated[int, Query(ge=-1, le=MAX_JSON_INT, description="Cursor: lines after this line number")] = -1,
    offset: Annotated[int, Query(ge=0, le=1_000_000, description="Skip this many matches")] = 0,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 500,
    count: Annotated[bool, Query(description="Also count all matches")] = True,
    rank: rank_logs.RankQuery = None,
    q: Annotated[
        str | None, Query(max_length=1000, pattern=log_query.NO_NUL, description=log_query.Q_DESCRIPTION)
    ] = None,
    tz: Annotated[str, Query(max_length=64, pattern=log_query.NO_NUL, description=log_query.TZ_DESCRIPTION)] = "UTC",
) -> LogLineList:
    """Lines matching every given filter, in line order; the run's open lines (`provisional`) last. A
    distributed run's lines carry their `rank`; `rank` (or `rank:N` in `search`) keeps one rank's."""
    flt = rank_logs.rank_filter(_filter(level, source, search, regex, since, until), rank)
    flt = log_query.with_query(flt, q, tz)
    with state.engines.reader.connect() as conn:
        _run_or_404(conn, run_id)
        rows = []
        for i, row in enumerate(
            store.iter_lines(conn, run_id=run_id, flt=flt, after=after, page=min(2000, limit + offset + 1))
        ):
            if i < offset:
                continue
            rows.append(row)
            if len(rows) > limit:
                break
        total = store.count(conn, run_id=run_id, flt=flt) if count else None
        open_from = store.next_line_number(conn, run_id=run_id)
        more = len(rows) > limit
        rows = rows[:limit]
        out = [store.public(r, provisional=r[0] >= open_from) for r in rows]
        log_query.attach_structured(conn, run_id, out)
    return LogLineList(
        lines=[LogLineOut(**line) for line in out],
        total=total,
        next_cursor=rows[-1][0] if more else None,
    )


@router.get("/latest", response_model=LogLineList)
def latest_lines(run_id: str, state: State, n: Annotated[int, Query(ge=1, le=10_000)] = 100) -> LogLineList:
    """The last ``n`` lines, in line order (the open ones, `provisional`, included)."""
    with state.engines.reader.connect() as conn:
        _run_or_404(conn, run_id)
        rows = []
        for row in store.iter_lines(conn, run_id=run_id, flt=store.LineFilter(), descending=True, page=n):
            rows.append(row)
            if len(rows) >= n:
                break
        open_from = store.next_line_number(conn, run_id=run_id)
        rows.reverse()
        out = log_query.attach_structured(conn, run_id, [store.public(r, provisional=r[0] >= open_from) for r in rows])
    return LogLineList(lines=[LogLineOut(**line) for line in out], total=None, next_cursor=None)


@router.get("/summary", response_model=LogSummary)
def lines_summary(run_id: str, state: State) -> LogSummary:
    """Line counts in all, per level and per source."""
    with state.engines.reader.connect() as conn:
        _run_or_404(conn, run_id)
        return LogSummary(**store.summary(conn, run_id=run_id))


def _format_rows(rows: Iterator[store.LineRow], fmt: str) -> Iterator[str]:
    if fmt == "json":
        yield "["
        first = True
        for r in rows:
            line = store.public(r)
            del line["display"]
            yield ("" if first else ",") + json.dumps(line)
            first = False
        yield "]\n"
        return
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(["line_number", "timestamp", "source", "level", "message"])
        for i, r in enumerate(rows):
            writer.writerow(
                [
                    r[0],
                    datetime.fromtimestamp(r[1]).astimezone().isoformat(),
                    r[2],
                    store.LEVEL_NAMES.get(r[3], r[3]),
                    r[4],
                ]
            )
            if i % 500 == 0:
                yield buf.getvalue()
                buf.seek(0)
                buf.truncate()
        yield buf.getvalue()
        return
    for r in rows:
        stamp = datetime.fromtimestamp(r[1]).astimezone().strftime("%Y-%m-%d %H:%M:%S")
        yield f"{stamp} [{store.LEVEL_NAMES.get(r[3], r[3])}] [{r[2]}] {r[4]}\n"


@router.get(
    "/download",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/plain": {}, "text/csv": {}, "application/json": {}}}},
)
def download_lines(
    run_id: str,
    state: State,
    format: Annotated[Literal["txt", "json", "csv"], Query(description="txt, json or csv")] = "txt",
    level: Annotated[str | None, Query(pattern=LEVELS_PATTERN)] = None,
    source: Annotated[str | None, Query(pattern=SOURCES_PATTERN)] = None,
    search: Annotated[str | None, Query(max_length=1000)] = None,
    regex: Annotated[str | None, Query(max_length=1000)] = None,
    since: Annotated[QueryTime | None, Query()] = None,
    until: Annotated[QueryTime | None, Query()] = None,
) -> StreamingResponse:
    """All matching lines as a file, streamed page by page (constant memory). TXT and CSV carry the plain
    text (no escape sequences); JSON is an array of line objects."""
    flt = _filter(level, source, search, regex, since, until)
    with state.engines.reader.connect() as conn:
        _run_or_404(conn, run_id)

    def page(conn: Connection, after: int) -> tuple[list[store.LineRow], int | None]:
        rows = list(islice(store.iter_lines(conn, run_id=run_id, flt=flt, after=after, page=PAGE_ROWS), PAGE_ROWS))
        return rows, rows[-1][0] if len(rows) == PAGE_ROWS else None

    def body() -> Iterator[bytes]:
        # page by page in short read transactions: a slow reader must not pin the database (see paging);
        # sent in pieces of about 64 kB, since every piece costs a hop to the thread pool (per line, a
        # download of 25,000 lines took 7 s)
        pending: list[str] = []
        size = 0
        for part in _format_rows(paged(state.engines.reader, page, -1), format):
            pending.append(part)
            size += len(part)
            if size >= 65_536:
                yield "".join(pending).encode()
                pending.clear()
                size = 0
        if pending:
            yield "".join(pending).encode()

    media = {"txt": "text/plain; charset=utf-8", "csv": "text/csv; charset=utf-8", "json": "application/json"}[format]
    return StreamingResponse(
        body(), media_type=media, headers={"Content-Disposition": f'attachment; filename="{run_id}-logs.{format}"'}
    )


#: Text of one write job at most when a batch of lines is stored in parts (other writes go on between them).
LINE_PART_BYTES = 1024 * 1024


def line_parts(lines: list[LogLineIn], stream: str | None, max_bytes: int = LINE_PART_BYTES) -> list[tuple[int, int]]:
    """``[lo, hi)`` ranges of whole lines with at most ``max_bytes`` of text each (a bigger line alone), so
    that a big batch is several short write jobs. Dedupe by the stream's cursor claims each part by its
    highest seq, which is exactly-once only when every line has a seq and they increase: otherwise (and for
    seq-less lines of a stream) the batch stays one part, as before."""
    if stream is not None:
        seqs = [line.seq for line in lines]
        known = [s for s in seqs if s is not None]
        if len(known) < len(seqs) or any(b <= a for a, b in pairwise(known)):
            return [(0, len(lines))]
    ranges: list[tuple[int, int]] = []
    lo = size = 0
    for i, line in enumerate(lines):
        length = len(line.message) + len(line.logger or "")
        if i > lo and size + length > max_bytes:
            ranges.append((lo, i))
            lo, size = i, 0
        size += length
    ranges.append((lo, len(lines)))
    return ranges


async def _add_lines(state: AppState, run_id: str, lines: list[LogLineIn], stream: str | None = None) -> int:
    now = time.time()
    parts: list[LinePart] = []
    for lo, hi in line_parts(lines, stream):  # a big batch in parts: other runs' writes go on between them
        part = LinePart(items=[], seqs=[line.seq for line in lines[lo:hi] if line.seq is not None])
        for line in lines[lo:hi]:
            text = f"{line.logger}: {line.message}" if line.logger else line.message
            at = now if line.timestamp is None else line.timestamp
            for piece in text.splitlines() or [""]:
                part.items.append((at, line.source, store.LEVELS[line.level.upper()], piece, piece))
        parts.append(part)
    added = await append_lines(state, run_id=run_id, stream=stream, parts=parts)
    if added is None:
        not_found("run", run_id)
    return added


@router.post("", status_code=201)
async def post_line(run_id: str, body: LogLineIn, state: State) -> dict[str, int]:
    """Add one structured line (a multi-line message becomes several lines)."""
    return {"added": await _add_lines(state, run_id, [body])}


@router.post("/batch", status_code=201)
async def post_lines(run_id: str, body: LogBatchIn, state: State) -> dict[str, int]:
    """Add structured lines in one request."""
    return {"added": await _add_lines(state, run_id, body.lines, body.stream)}


@router.delete("")
async def clear_logs(run_id: str, request: Request, state: State, caller: Caller) -> dict[str, Any]:
    """Delete the run's raw bytes and lines; says how much was removed. Offsets of new bytes continue
    after the old end, so open streams stay consistent."""
    ip = client_ip(request)

    def record(conn: Connection, removed: dict[str, int]) -> None:
        by = caller.user or "local"
        add_event(
            conn,
            run_id=run_id,
            kind="logs_cleared",
            message=f"logs cleared by {by}: {removed['bytes']} bytes, {removed['lines']} lines",
            data={**removed, "by": by},
        )
        detail = f"{removed['bytes']} bytes, {removed['lines']} lines"
        audit_store.add_entry(conn, user=caller.user, action="logs_clear", target=run_id, detail=detail, ip=ip)

    removed = await ingest_logs.clear_logs(state, run_id=run_id, record=record)
    if removed is None:
        not_found("run", run_id)
    return {"run_id": run_id, "removed": removed}


WS_BACKLOG = 500
_WS_QUEUE = 256
#: Lines per page while catching a line socket up from the database.
_CATCH_UP_LINES = 2000


#: The lines WebSocket at its own URL, ``/api/runs/{run_id}/lines/ws``. ``/logs/stream`` also serves it (for
#: clients written before the split), beside the raw log's Server-Sent Events on the same path.
lines_router = APIRouter(prefix="/api/runs/{run_id}/lines", tags=["logs"])


@lines_router.websocket("/ws")
@router.websocket("/stream")
async def lines_socket(
    websocket: WebSocket,
    run_id: str,
    after: Annotated[int | None, Query(ge=-1, le=MAX_JSON_INT)] = None,
    rank: rank_logs.RankQuery = None,
) -> None:
    """The last 500 lines (or the lines after ``?after=N``), then new lines as they are indexed, as
    ``{"type": "lines", "lines": [...]}`` (final lines only, each sent once). The run's open lines (a bar
    still being redrawn, the last line before a pause) come as ``{"type": "open", "lines": [...]}``, each
    message the whole provisional tail shown after the final lines (an empty list: none are open).
    ``{"type": "ping"}`` gets ``pong``. A client too slow to keep
    up gets ``{"type": "behind", "resume_from": N}`` and is then caught up from the database."""
    state = get_state(websocket)

    def exists() -> bool:
        with state.engines.reader.connect() as conn:
            return runs_store.get_run(conn, run_id=run_id) is not None

    if not await run_in_threadpool(exists):
        await websocket.close(code=4404, reason=f"run {run_id!r} not found")
        return
    await websocket.accept()
    sub = state.broker.subscribe(topics.run_lines(run_id), maxsize=_WS_QUEUE)

    def read_after(cursor: int, limit: int = _CATCH_UP_LINES) -> list[dict[str, Any]]:
        with state.engines.reader.connect() as conn:
            out = []
            for row in store.iter_lines(
                conn, run_id=run_id, flt=store.LineFilter(rank=rank), after=cursor, page=limit, include_open=False
            ):
                out.append(store.public(row))
                if len(out) >= limit:
                    break
            return out

    # the cursor: the last line number sent (-1: none)
    lines = CatchUp(sub, after if after is not None else -1, read_after, lambda _at, page: page[-1]["line_number"])

    def read_open() -> list[dict[str, Any]]:
        with state.engines.reader.connect() as conn:
            opened = [store.public(row, provisional=True) for row in store.open_rows(conn, run_id=run_id)]
        return opened if rank is None else [ln for ln in opened if ln["rank"] == rank]

    def backlog() -> list[dict[str, Any]]:
        with state.engines.reader.connect() as conn:
            rows = []
            for row in store.iter_lines(
                conn,
                run_id=run_id,
                flt=store.LineFilter(rank=rank),
                descending=True,
                page=WS_BACKLOG,
                include_open=False,
            ):
                rows.append(store.public(row))
                if len(rows) >= WS_BACKLOG:
                    break
        rows.reverse()
        return rows

    async def send(page: list[dict[str, Any]]) -> None:
        fresh = [ln for ln in page if ln["line_number"] > lines.cursor]
        if fresh:
            await websocket.send_json({"type": "lines", "lines": fresh})
            lines.cursor = fresh[-1]["line_number"]

    async def catch_up() -> None:
        """Send the stored lines after the cursor; then, if live messages were dropped meanwhile (the open
        tail is not stored as such), the open lines as they are now."""
        async for page in lines.pages():
            await websocket.send_json({"type": "lines", "lines": page})
        if lines.missed:
            lines.missed = False
            await websocket.send_json({"type": "open", "lines": await run_in_threadpool(read_open)})

    async def pump() -> None:
        if after is None:
            await send(await run_in_threadpool(backlog))
        await catch_up()  # ``missed`` starts set: the open lines follow
        while True:
            try:
                batch = await sub.get(25.0)
            except TimeoutError:
                await websocket.send_json({"type": "heartbeat"})
                continue
            if sub.lagged:
                sub.drain()
                await websocket.send_json({"type": "behind", "resume_from": lines.cursor + 1})
                lines.missed = True
                await catch_up()
                continue
            if batch is POLL:  # live messages may have been lost (Redis down): read what is stored
                lines.missed = True
                await catch_up()
                continue
            if isinstance(batch, dict):  # {"type": "open", "lines": [...]}: the provisional tail, replaced
                await websocket.send_json(batch if rank is None else rank_logs.of_rank(batch, rank))
                continue
            if rank is not None:  # one rank's lines: its numbers have gaps, so a gap means nothing here
                batch = [ln for ln in batch if ln.get("rank") == rank]
                await send(batch)
                continue
            if batch and batch[0]["line_number"] > lines.cursor + 1:
                await catch_up()
            await send(batch)

    async def handle(raw: str) -> dict[str, Any]:
        try:
            msg = json.loads(raw)
        except ValueError:
            msg = None
        if isinstance(msg, dict) and msg.get("type") == "ping":
            return {"type": "pong"}
        return {"type": "error", "message": 'expected {"type": "ping"}'}

    try:
        await serve_socket(websocket, pump, handle)
    finally:
        sub.close()
