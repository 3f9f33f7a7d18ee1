"""Raw terminal log: upload (the SDK/CLI), paged history bytes, and the live SSE stream."""

from __future__ import annotations

import binascii
import re
import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field, WithJsonSchema

from trainboard.server.api import rank_logs
from trainboard.server.api.errors import invalid, not_found
from trainboard.server.api.schemas import EpochSeconds, InModel
from trainboard.server.api.terminal_sizes import TerminalSizeIn
from trainboard.server.ingest import logs as ingest_logs
from trainboard.server.state import State
from trainboard.server.store import logs as store
from trainboard.server.store import ranks as ranks_store
from trainboard.server.store import runs as runs_store
from trainboard.server.stream import topics
from trainboard.server.stream.sse import log_stream
from trainboard.wire import ID_PATTERN, MAX_JSON_INT

router = APIRouter(prefix="/api/runs/{run_id}/logs", tags=["logs"])

MAX_PAGE = 16 * 1024 * 1024
#: Standard base64 with padding (what ``base64.b64decode(validate=True)`` takes).
BASE64_PATTERN = r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"
#: A byte offset of at most 2**53 - 1 (16 digits, and no 16-digit number above 9007199254740991).
LAST_EVENT_ID_PATTERN = r"^(0|[1-9][0-9]{0,14}|[1-8][0-9]{15}|900[0-6][0-9]{12})$"


#: Documented with the pattern, checked where it is decoded (``decode_base64``): a megabyte of output would
#: otherwise be scanned twice (the pattern alone costs about 5 ms per MB).
Base64Text = Annotated[str, WithJsonSchema({"type": "string", "pattern": BASE64_PATTERN})]


def decode_base64(text: str) -> bytes | None:
    """The bytes of standard padded base64 (what ``BASE64_PATTERN`` matches exactly), None for anything else."""
    if len(text) % 4 or text.endswith("==="):  # strict mode still takes `=`s after a whole group: `AAAA====`
        return None
    try:
        return binascii.a2b_base64(text, strict_mode=True)
    except (binascii.Error, ValueError):
        return None


class RawChunkIn(InModel):
    seq: int | None = Field(None, ge=0, le=MAX_JSON_INT)
    source: Literal["stdout", "stderr"]
    time: EpochSeconds | None = None
    data: Base64Text = Field(description="base64 of the raw bytes (may be empty: a chunk that only carries `size`)")
    size: TerminalSizeIn | None = Field(
        None, description="The terminal's size from this chunk's first byte on (sent at the start and on a resize)"
    )
    rank: int | None = Field(
        None, ge=0, le=ranks_store.MAX_RANK, description="The rank whose stream this is; absent: the node-level stream"
    )


class RawLogIn(InModel):
    stream: str | None = Field(None, pattern=ID_PATTERN)
    chunks: list[RawChunkIn]


class RawLogResult(BaseModel):
    appended: int = Field(description="Bytes stored")
    duplicates: int = Field(description="Chunks ignored: their seq was already committed")
    size: int = Field(description="Total bytes of the log")


@router.post("/raw", response_model=RawLogResult)
async def append_raw(run_id: str, body: RawLogIn, request: Request, state: State) -> RawLogResult:
    """Append raw terminal bytes (what ``trainboard run`` and the SDK's capture send)."""
    chunks: list[store.Chunk] = []
    now = time.time()
    for i, c in enumerate(body.chunks):
        data = decode_base64(c.data)
        if data is None:
            invalid(["body", "chunks", i, "data"], f"is not valid base64: must match {BASE64_PATTERN}")
        source = ranks_store.rank_source(c.source, c.rank)
        chunks.append((c.seq, source, now if c.time is None else c.time, data))
    sizes = [(i, c.size.cols, c.size.rows) for i, c in enumerate(body.chunks) if c.size is not None]
    total = await ingest_logs.append_raw(state, run_id=run_id, stream=body.stream, chunks=chunks, sizes=sizes)
    if total is None:
        not_found("run", run_id)
    return RawLogResult(appended=total.appended, duplicates=total.duplicates, size=total.size)


@router.get(
    "",
    response_class=Response,
    responses={
        200: {
            "content": {"application/octet-stream": {}},
            "description": "The raw bytes. Header "
            "`X-Log-Size`: total bytes; `X-Log-Start`: first stored offset (after retention).",
        }
    },
)
def get_raw(
    run_id: str,
    state: State,
    offset: Annotated[
        int | None, Query(ge=0, le=MAX_JSON_INT, description="First byte (default 0); with `tail`, a lower bound")
    ] = None,
    limit: Annotated[int, Query(ge=0, le=MAX_PAGE, description="Bytes at most (ignored with `tail`)")] = MAX_PAGE,
    tail: Annotated[
        int | None,
        Query(ge=0, le=MAX_PAGE, description="The last N bytes of the log (none before `offset` when both are given)"),
    ] = None,
    source: Annotated[
        Literal["stdout", "stderr"] | None, Query(description="Only this source's bytes within the range")
    ] = None,
    rank: rank_logs.RankQuery = None,
) -> Response:
    """The raw terminal bytes exactly as produced, paged by byte offset."""
    if rank is not None:
        return rank_logs.raw_response(state, run_id, rank, offset=offset, limit=limit, tail=tail)
    with state.engines.reader.connect() as conn:
        ext = store.extent(conn, run_id=run_id)
        if ext is None:
            not_found("run", run_id)
        lowest = max(offset or 0, ext.start)
        start = max(lowest, ext.size - tail) if tail is not None else lowest
        count = ext.size - start if tail is not None else limit
        data = store.read(conn, run_id=run_id, offset=start, limit=count, source=source) if start < ext.size else b""
    return Response(
        content=data,
        media_type="application/octet-stream",
        headers={
            "X-Log-Size": str(ext.size),
            "X-Log-Start": str(ext.start),
            "X-Log-Offset": str(start),
            "Cache-Control": "no-store",
            "Content-Disposition": f'attachment; filename="{run_id}.log"',
        },
    )


@router.get(
    "/stream",
    response_class=StreamingResponse,
    openapi_extra={
        "parameters": [
            {
                "name": "Last-Event-ID",
                "in": "header",
                "required": False,
                "description": "Resume after this byte offset (what an EventSource sends when it reconnects); "
                "`offset` wins when both are given",
                "schema": {"type": "string", "pattern": LAST_EVENT_ID_PATTERN},
            }
        ]
    },
    responses={
        200: {
            "content": {"text/event-stream": {}},
            "description": "`event: log` (id = byte offset "
            "after the chunk, data = base64), then `event: done` with the exit code; or `event: lagged` "
            '`{"reason", "resume_from"}` when the client fell more than its queue\'s byte bound behind '
            "(reconnect with `Last-Event-ID: resume_from`).",
        },
        429: {"description": "Too many open streams from this client address (`Retry-After`)."},
        503: {"description": "Too many open streams on the server (`Retry-After`)."},
    },
)
def stream_raw(
    run_id: str,
    state: State,
    request: Request,
    offset: Annotated[int | None, Query(ge=0, le=MAX_JSON_INT, description="Resume after this byte offset")] = None,
    rank: rank_logs.RankQuery = None,
) -> StreamingResponse:
    """Live raw log: history from ``offset`` (or ``Last-Event-ID``), then new bytes as they arrive."""
    start = offset or 0
    last_event_id = request.headers.get("last-event-id")
    if last_event_id is not None:
        # read by hand (declared in openapi_extra): a nullable Header parameter would be documented as
        # accepting the text "null"
        if not re.fullmatch(LAST_EVENT_ID_PATTERN, last_event_id):
            invalid(["header", "Last-Event-ID"], f"must be a byte offset: an integer in [0, {MAX_JSON_INT}]")
        if offset is None:
            start = int(last_event_id)
    if rank is not None:
        return rank_logs.stream_response(state, run_id, rank, start)
    with state.engines.reader.connect() as conn:
        ext = store.extent(conn, run_id=run_id)
    if ext is None:
        not_found("run", run_id)
    start = max(start, ext.start)

    def read(at: int, limit: int) -> bytes:
        with state.engines.reader.connect() as conn:
            return store.read(conn, run_id=run_id, offset=at, limit=limit)

    def finished() -> tuple[bool, int | None, int]:
        with state.engines.reader.connect() as conn:
            run: dict[str, Any] | None = runs_store.get_run(conn, run_id=run_id)
        if run is None:
            return True, None, 0
        # a queued run (launched, its job not started yet) is not over: its output is still to come
        return run["status"] in runs_store.FINISHED, run["exit_code"], int(run["log_size"])

    return StreamingResponse(
        log_stream(broker=state.broker, topic=topics.run_log(run_id), offset=start, read=read, finished=finished),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
