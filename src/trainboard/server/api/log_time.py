"""The raw log on the time line: the byte offset the terminal had reached at a moment.

A player replays the bytes before that offset into a fresh terminal to show the screen as it was then
(the metrics <-> terminal time line of the run page).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from trainboard.server.api.errors import not_found
from trainboard.server.api.schemas import QueryTime
from trainboard.server.state import State
from trainboard.server.store import log_time as store
from trainboard.server.store import logs as logs_store

router = APIRouter(prefix="/api/runs/{run_id}/logs", tags=["logs"])


class LogOffsetAt(BaseModel):
    time: float = Field(description="The moment asked about (epoch seconds)")
    offset: int = Field(description="Bytes of the raw log produced at or before `time`: replay [0, offset)")
    chunk_time: float | None = Field(description="When the last of those bytes were produced; null when none were")
    log_start: int = Field(description="First byte still stored (retention may have trimmed the start)")
    log_size: int = Field(description="Bytes of the raw log now")


@router.get(
    "/offset",
    response_model=LogOffsetAt,
    responses={404: {"description": "No such run"}},
)
def offset_at_time(
    run_id: str,
    state: State,
    time: Annotated[QueryTime, Query(description="ISO 8601 date-time or epoch seconds")],
) -> LogOffsetAt:
    """How far the raw log had got at `time`: the offset to replay up to for the screen of that moment."""
    at = time.timestamp()
    with state.engines.reader.connect() as conn:
        ext = logs_store.extent(conn, run_id=run_id)
        if ext is None:
            not_found("run", run_id)
        moment = store.offset_at(conn, run_id=run_id, time=at)
    offset = max(moment["offset"], ext.start) if moment["chunk_time"] is not None else ext.start
    return LogOffsetAt(time=at, offset=offset, chunk_time=moment["chunk_time"], log_start=ext.start, log_size=ext.size)
