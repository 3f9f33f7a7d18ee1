"""Log bookmarks (``/api/runs/{run_id}/bookmarks``) and log positions (``/api/runs/{run_id}/logs/position``).

A bookmark is a place in a run's log (a line, a byte offset and/or a moment) with a note, shared with everyone who
can read the run; adding one needs write access (the gate: a POST is ``write``), removing one its author or an
admin. A position is what a permalink (``/runs/{id}?line=N``, ``?offset=B``, ``?t=EPOCH``) opens at.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Path, Query, Response
from pydantic import BaseModel, Field
from sqlalchemy import Connection

from trainboard.server.api.errors import invalid, not_found
from trainboard.server.api.schemas import EpochSeconds, InModel, QueryTime
from trainboard.server.auth.identity import Caller
from trainboard.server.state import State
from trainboard.server.store import bookmarks as store
from trainboard.server.store import logs as logs_store
from trainboard.server.store.bookmarks_tables import NOTE_MAX
from trainboard.wire import MAX_JSON_INT

router = APIRouter(tags=["bookmarks"])
RunId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
BookmarkId = Annotated[int, Path(ge=1, le=2**53 - 1)]
LIST_MAX = 1000


class BookmarkIn(InModel):
    """Give at least one of ``line_number``, ``offset`` and ``time``. A line's time is filled in when not given."""

    line_number: int | None = Field(None, ge=0, le=MAX_JSON_INT, description="A stored line of the run")
    offset: int | None = Field(None, ge=0, le=MAX_JSON_INT, description="A byte offset of the raw log")
    time: EpochSeconds | None = Field(None, description="A moment (epoch seconds)")
    note: str = Field("", max_length=NOTE_MAX, description=f"Free text, {NOTE_MAX} characters at most")


class BookmarkOut(BaseModel):
    id: int
    run_id: str
    line_number: int | None
    offset: int | None
    time: float | None
    note: str
    created_by: str | None
    created_at: float
    url: str = Field(description="The permalink: the run page opened at this place")


class BookmarkList(BaseModel):
    bookmarks: list[BookmarkOut] = Field(description="Oldest first")
    total: int = Field(description="Bookmarks of the run in all (more than listed when past `limit`)")


class LogPosition(BaseModel):
    line_number: int | None = Field(description="The line to show; null when the run has no stored line")
    index: int | None = Field(description="Its position among the run's stored lines (0-based), unfiltered")
    time: float | None = Field(description="The moment for the terminal and the metrics time line (epoch seconds)")
    offset: int | None = Field(description="The byte offset asked for, if one was")
    exact: bool = Field(description="True when the line asked for is the one shown")
    why: str | None = Field(description="When not exact: what is shown instead and why")


def permalink(run_id: str, *, line_number: int | None, offset: int | None, time: float | None) -> str:
    base = f"/runs/{quote(run_id)}"
    if line_number is not None:
        return f"{base}?line={line_number}"
    if offset is not None:
        return f"{base}?offset={offset}"
    return f"{base}?t={time:.3f}" if time is not None else base


def _out(row: dict[str, Any]) -> BookmarkOut:
    url = permalink(row["run_id"], line_number=row["line_number"], offset=row["offset"], time=row["time"])
    return BookmarkOut(**row, url=url)


def _checked(conn: Connection, run_id: str, body: BookmarkIn) -> float | None:
    """Refuse a place the run does not have (422 naming the field); the time to store."""
    ext = logs_store.extent(conn, run_id=run_id)
    if ext is None:
        not_found("run", run_id)
    if store.count(conn, run_id=run_id) >= store.MAX_PER_RUN:
        raise HTTPException(status_code=409, detail=f"run {run_id!r} has {store.MAX_PER_RUN} bookmarks already")
    if body.offset is not None and body.offset > ext.size:
        invalid(["body", "offset"], f"byte {body.offset} is past the end of the run's log ({ext.size} bytes)")
    if body.line_number is None:
        return body.time
    at = store.line_time(conn, run_id=run_id, line_number=body.line_number)
    if at is None:
        invalid(["body", "line_number"], f"line {body.line_number} is not a stored line of the run")
    return body.time if body.time is not None else at


@router.post("/api/runs/{run_id}/bookmarks", status_code=201, response_model=BookmarkOut)
async def add_bookmark(run_id: RunId, body: BookmarkIn, state: State, caller: Caller) -> BookmarkOut:
    """Bookmark a line, a byte offset or a moment of the run, with a note."""
    if body.line_number is None and body.offset is None and body.time is None:
        invalid(["body", "line_number"], "give line_number, offset or time (the place to bookmark)")

    def check() -> float | None:
        with state.engines.reader.connect() as conn:
            return _checked(conn, run_id, body)

    # checked on a reader first: a refused bookmark never costs the writer a rolled-back transaction
    at = await asyncio.to_thread(check)
    row = await state.ingest.commit(
        lambda conn: store.add(
            conn,
            run_id=run_id,
            line_number=body.line_number,
            offset=body.offset,
            time=at,
            note=body.note,
            created_by=caller.actor,
        )
    )
    return _out(row)


@router.get("/api/runs/{run_id}/bookmarks", response_model=BookmarkList)
def list_bookmarks(
    run_id: RunId, state: State, limit: Annotated[int, Query(ge=1, le=LIST_MAX)] = LIST_MAX
) -> BookmarkList:
    """The run's bookmarks, oldest first; `total` counts them all."""
    with state.engines.reader.connect() as conn:
        if logs_store.extent(conn, run_id=run_id) is None:
            not_found("run", run_id)
        rows = store.list_for_run(conn, run_id=run_id, limit=limit)
        total = store.count(conn, run_id=run_id)
    return BookmarkList(bookmarks=[_out(r) for r in rows], total=total)


@router.delete("/api/runs/{run_id}/bookmarks/{bookmark_id}", status_code=204)
async def delete_bookmark(run_id: RunId, bookmark_id: BookmarkId, state: State, caller: Caller) -> Response:
    """Remove a bookmark: its author or an admin."""

    def find() -> dict[str, Any] | None:
        with state.engines.reader.connect() as conn:
            return store.get(conn, run_id=run_id, bookmark_id=bookmark_id)

    found = await asyncio.to_thread(find)
    if found is None:
        not_found("bookmark", str(bookmark_id))
    author = found["created_by"]
    if not caller.is_admin and not caller.owns(author) and author != caller.actor:
        raise HTTPException(
            status_code=403, detail=f"only {author or 'its author'} or an admin may remove this bookmark"
        )
    if not await state.ingest.commit(lambda conn: store.remove(conn, run_id=run_id, bookmark_id=bookmark_id)):
        not_found("bookmark", str(bookmark_id))
    return Response(status_code=204)


@router.get("/api/runs/{run_id}/logs/position", response_model=LogPosition)
def log_position(
    run_id: RunId,
    state: State,
    line: Annotated[int | None, Query(ge=0, le=MAX_JSON_INT, description="A line number")] = None,
    offset: Annotated[int | None, Query(ge=0, le=MAX_JSON_INT, description="A byte offset of the raw log")] = None,
    time: Annotated[QueryTime | None, Query(description="ISO 8601 date-time or epoch seconds")] = None,
) -> LogPosition:
    """Where a permalink opens: the line to show (and its index among the stored lines) and the moment."""
    given = [name for name, v in (("line", line), ("offset", offset), ("time", time)) if v is not None]
    if len(given) != 1:
        invalid(["query", given[1] if given else "line"], "give exactly one of line, offset and time")
    with state.engines.reader.connect() as conn:
        if logs_store.extent(conn, run_id=run_id) is None:
            not_found("run", run_id)
        if line is not None:
            pos = store.position_of_line(conn, run_id=run_id, line_number=line)
        elif offset is not None:
            pos = store.position_of_offset(conn, run_id=run_id, offset=offset)
        else:
            assert time is not None
            pos = store.position_at_time(conn, run_id=run_id, time=time.timestamp())
    return LogPosition(**vars(pos))
