"""``GET /api/logs/search``: lines matching a log query across the runs the caller may read, paged.

The query language is ``loglines.query``'s (README "Search logs"); the index behind it ``store.line_search``.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from trainboard.server.api.errors import not_found
from trainboard.server.api.log_query import Q_DESCRIPTION, TZ_DESCRIPTION, parse_q, query_error, zone
from trainboard.server.api.schemas import NO_NUL_PATTERN
from trainboard.server.auth.identity import Caller
from trainboard.server.loglines.query import QueryError
from trainboard.server.state import State
from trainboard.server.store import line_fields, line_search
from trainboard.server.store import runs as runs_store

router = APIRouter(prefix="/api/logs", tags=["log lines"])


class SearchHit(BaseModel):
    run_id: str
    run_name: str | None = None
    project: str | None = None
    line: int = Field(description="The line number (open it at `/runs/{run_id}?line=N`)")
    timestamp: float = Field(description="When the line was written (epoch seconds)")
    source: str
    level: str = Field(description="As printed (upper case); a plain line's is the standard name of its number")
    level_no: int | None = Field(description="The level's number; null for a program's level of unknown value")
    logger: str | None = None
    message: str
    fields: dict[str, Any] | None = Field(None, description="A structured line's fields")
    match: list[list[int]] = Field(description="[start, end) of each matched word or phrase in `message`")


class SearchPage(BaseModel):
    hits: list[SearchHit]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null at the end")
    indexed: bool = Field(
        description="True when the full-text index answered (the query has a word or phrase); false: lines were "
        "read newest first and filtered"
    )
    partial: bool = Field(
        description="This page stopped after reading its limit of candidate lines (200,000: a common word with a "
        "filter that keeps few of its lines, a `/regex/`): more may match further on (follow `next_cursor`)"
    )


@router.get("/search", response_model=SearchPage, description=Q_DESCRIPTION)
async def search_logs(
    state: State,
    caller: Caller,
    q: Annotated[str, Query(max_length=1000, pattern=NO_NUL_PATTERN, description=Q_DESCRIPTION)] = "",
    project: Annotated[
        str | None, Query(max_length=256, pattern=NO_NUL_PATTERN, description="Only runs of this project")
    ] = None,
    cursor: Annotated[
        str | None, Query(max_length=400, pattern="^[A-Za-z0-9_-]*$", description="`next_cursor` of the previous page")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    tz: Annotated[str, Query(max_length=64, pattern=NO_NUL_PATTERN, description=TZ_DESCRIPTION)] = "UTC",
) -> SearchPage:
    """Lines of every run the caller may read matching `q`, newest first (a run-scoped token may not search).
    Words and phrases are looked up in the full-text index (SQLite FTS5, PostgreSQL `tsvector` GIN)."""
    query = parse_q(q)
    zone_info = zone(tz)
    now = time.time()

    def run() -> line_search.SearchPage:
        with state.engines.reader.connect() as conn:
            return line_search.search(
                conn,
                query=query,
                tz=zone_info,
                now=now,
                project=project,
                run_id=caller.run_id,
                cursor=cursor,
                limit=limit,
            )

    try:
        page = await run_in_threadpool(run)
    except QueryError as exc:
        query_error(exc)
    return SearchPage(
        hits=[SearchHit(**h) for h in page.hits],
        next_cursor=page.next_cursor,
        indexed=page.indexed,
        partial=page.partial,
    )


#: ``GET /api/runs/{run_id}/logs/levels`` (beside the run's other line routes).
levels_router = APIRouter(prefix="/api/runs/{run_id}/logs", tags=["log lines"])


class LevelCount(BaseModel):
    name: str = Field(description="As printed, upper case (a plain line's: the standard name of its number)")
    level_no: int | None = Field(description="null: a program's level of unknown value (listed last)")
    count: int


class LevelList(BaseModel):
    levels: list[LevelCount] = Field(description="By number; levels of unknown value after all the others")


@levels_router.get("/levels", response_model=LevelList)
async def run_levels(run_id: str, state: State) -> LevelList:
    """The levels present in the run's final lines, with counts: what a level filter can offer."""

    def read() -> list[dict[str, Any]] | None:
        with state.engines.reader.connect() as conn:
            if runs_store.get_run(conn, run_id=run_id) is None:
                return None
            return line_fields.levels(conn, run_id=run_id)

    found = await run_in_threadpool(read)
    if found is None:
        not_found("run", run_id)
    return LevelList(levels=[LevelCount(**item) for item in found])
