"""One rank's raw terminal stream (``?rank=N`` on ``GET /api/runs/{id}/logs`` and ``.../logs/stream``).

A rank's bytes have their own offsets (``store.ranks``): paged history and the SSE stream (ids are offsets in
the rank's stream, so ``Last-Event-ID`` resumes that rank exactly) read them; the live chunks come from the
run's rank topic, filtered to the rank.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import Query, Response
from fastapi.responses import StreamingResponse

from trainboard.server.api.errors import invalid, not_found
from trainboard.server.state import AppState
from trainboard.server.store import ranks
from trainboard.server.store import runs as runs_store
from trainboard.server.store.log_lines import LineFilter
from trainboard.server.stream import topics
from trainboard.server.stream.sse import log_stream

#: The ``rank`` query parameter of the log routes.
RankQuery = Annotated[
    int | None,
    Query(
        ge=0,
        le=ranks.MAX_RANK,
        description="One rank's stream of a distributed run (its own byte offsets); without it the run's log",
    ),
]


def _extent(state: AppState, run_id: str, rank: int) -> tuple[int, int]:
    with state.engines.reader.connect() as conn:
        if runs_store.get_run(conn, run_id=run_id) is None:
            not_found("run", run_id)
        ext = ranks.rank_extent(conn, run_id=run_id, rank=rank)
    if ext is None:
        invalid(["query", "rank"], f"run {run_id} has no rank {rank}")
    return ext


def raw_response(
    state: AppState, run_id: str, rank: int, *, offset: int | None, limit: int, tail: int | None
) -> Response:
    """The rank's bytes, paged by the rank's own offsets (headers as for the run's log)."""
    start_kept, size = _extent(state, run_id, rank)
    lowest = max(offset or 0, start_kept)
    start = max(lowest, size - tail) if tail is not None else lowest
    count = size - start if tail is not None else limit
    data = b""
    if start < size:
        with state.engines.reader.connect() as conn:
            data = ranks.read_rank(conn, run_id=run_id, rank=rank, offset=start, limit=count)
    return Response(
        content=data,
        media_type="application/octet-stream",
        headers={
            "X-Log-Size": str(size),
            "X-Log-Start": str(start_kept),
            "X-Log-Offset": str(start),
            "X-Log-Rank": str(rank),
            "Cache-Control": "no-store",
            "Content-Disposition": f'attachment; filename="{run_id}.rank{rank}.log"',
        },
    )


def stream_response(state: AppState, run_id: str, rank: int, start: int) -> StreamingResponse:
    """The rank's live SSE stream from ``start`` (an offset in the rank's stream)."""
    start_kept, _size = _extent(state, run_id, rank)

    def read(at: int, limit: int) -> bytes:
        with state.engines.reader.connect() as conn:
            return ranks.read_rank(conn, run_id=run_id, rank=rank, offset=at, limit=limit)

    def finished() -> tuple[bool, int | None, int]:
        with state.engines.reader.connect() as conn:
            run: dict[str, Any] | None = runs_store.get_run(conn, run_id=run_id)
            ext = ranks.rank_extent(conn, run_id=run_id, rank=rank)
        if run is None:
            return True, None, 0
        return run["status"] in runs_store.FINISHED, run["exit_code"], 0 if ext is None else ext[1]

    def pick(message: Any) -> Any:
        if message[0] == "done":
            return message
        return (message[1], message[2], message[3]) if message[0] == rank else None

    return StreamingResponse(
        log_stream(
            broker=state.broker,
            topic=topics.run_rank_logs(run_id),
            offset=max(start, start_kept),
            read=read,
            finished=finished,
            pick=pick,
        ),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


_RANK_TERM = re.compile(r"(?:^|\s)rank:(\S*)(?=\s|$)")


def rank_filter(flt: LineFilter, rank: int | None) -> LineFilter:
    """Select one rank's lines: the ``rank`` query parameter, or a ``rank:N`` term in the search text (taken
    out of the text searched). Both given and different: a 422 naming ``rank``."""
    if flt.search and (found := _RANK_TERM.search(flt.search)):
        value = found.group(1)
        if not value.isdigit() or int(value) > ranks.MAX_RANK:
            invalid(["query", "search"], f"rank:{value[:20]} is not a rank: use rank:N with N in [0, {ranks.MAX_RANK}]")
        if rank is not None and rank != int(value):
            invalid(["query", "rank"], f"rank={rank} and the search's rank:{value} disagree")
        rank = int(value)
        flt.search = (flt.search[: found.start()] + " " + flt.search[found.end() :]).strip() or None
    flt.rank = rank
    return flt


def of_rank(message: dict[str, Any], rank: int) -> dict[str, Any]:
    """A line socket's ``{"type": "open", "lines": [...]}`` message with one rank's lines."""
    return {**message, "lines": [ln for ln in message["lines"] if ln.get("rank") == rank]}
