"""Runs: list, create (idempotent by id), read, update, delete, heartbeat, events."""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, Response
from sqlalchemy import Connection

from trainboard.server.api.errors import invalid, not_found
from trainboard.server.api.project_schemas import TagsChange, TagsOut
from trainboard.server.api.run_query_errors import query_error
from trainboard.server.api.schemas import EventList, EventOut, RunCreate, RunList, RunPublic, RunUpdate, iso
from trainboard.server.auth.audit import client_ip, record
from trainboard.server.auth.identity import Caller
from trainboard.server.ingest import runs as ingest_runs
from trainboard.server.ingest.runs import Transition
from trainboard.server.runs_query import QueryError
from trainboard.server.runs_query.parse import MAX_LENGTH
from trainboard.server.runs_query.query import RunsQuery, run_page
from trainboard.server.state import State
from trainboard.server.store import events as events_store
from trainboard.server.store import launches as launches_store
from trainboard.server.store import run_tags
from trainboard.server.store import runs as store
from trainboard.server.store.costs import with_costs
from trainboard.server.store.run_owner import created_by, set_created_by
from trainboard.server.stream import feed
from trainboard.wire import MAX_JSON_INT

router = APIRouter(prefix="/api/runs", tags=["runs"])


FILTER_DOC = (
    "A filter expression, e.g. `config.lr < 1e-3 and status = failed and val/loss < 0.2`: comparisons "
    "(= != < <= > >= ~ contains in) of run fields (name, project, status, tags, notes, start_time, end_time, duration, "
    "exit_code, last_step, archived), `config.KEY` (dotted for nested keys) or a metric key (its last value; "
    "`.min`, `.max`, `.count`), joined with and / or / not and parentheses; strings quoted or bare. "
    "Archived runs are left out unless the filter names `archived`. A bad expression is a 422 naming the position."
)
SORT_DOC = (
    "`val/loss` (last value, ascending), `-val/loss` (descending), `val/loss.min`, `.max`, `.count`, `config.lr`, "
    "`name`, `start_time`, `duration`, ...; runs missing the key come last. Default `-start_time`."
)


@router.get("", response_model=RunList, response_model_exclude_none=False)
def list_runs(
    state: State,
    status: Annotated[
        str | None,
        Query(
            pattern=r"^(queued|running|completed|failed|interrupted)"
            r"(,(queued|running|completed|failed|interrupted))*$"
        ),
    ] = None,
    project: Annotated[str | None, Query(max_length=256)] = None,
    name: Annotated[str | None, Query(max_length=512)] = None,
    search: Annotated[str | None, Query(max_length=200, description="Substring of name, project or id")] = None,
    filter: Annotated[str, Query(max_length=MAX_LENGTH, description=FILTER_DOC)] = "",
    sort: Annotated[str | None, Query(max_length=200, description=SORT_DOC)] = None,
    cursor: Annotated[
        str | None,
        Query(max_length=1000, pattern=r"^[A-Za-z0-9_-]*$", description="`next_cursor` of the previous page"),
    ] = None,
    summary: Annotated[
        str | None,
        Query(max_length=300, description="Comma-separated metric keys whose summaries each run carries; `*`: all"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_JSON_INT, description="Without a cursor: runs to skip")] = 0,
) -> RunList:
    """Runs matching the filter, a page at a time in the sort's order (newest first by default)."""
    texts = {"status": status, "project": project, "name": name, "search": search, "summary": summary}
    for param, value in texts.items():
        if value is not None and "\x00" in value:
            invalid(["query", param], "must not contain NUL characters")
    query = RunsQuery(
        filter=filter,
        sort=sort,
        cursor=cursor,
        limit=limit,
        offset=offset,
        status=status,
        project=project,
        name=name,
        search=search,
        summary=[k.strip() for k in summary.split(",") if k.strip()] if summary else [],
    )
    try:
        with state.engines.reader.connect() as conn:
            page = run_page(conn, query)
            priced = with_costs(conn, page.runs)
    except QueryError as exc:
        query_error(exc)
    return RunList(runs=[RunPublic.from_row(r) for r in priced], total=page.total, next_cursor=page.next_cursor)


@router.post(
    "",
    response_model=RunPublic,
    status_code=201,
    responses={200: {"model": RunPublic, "description": "A run with this `id` exists: it is returned (config merged)"}},
)
async def create_run(body: RunCreate, response: Response, state: State, caller: Caller) -> RunPublic:
    """Create a run. With a client-made ``id`` that exists already, returns that run with 200."""
    if caller.run_id is not None and body.id != caller.run_id:
        raise HTTPException(status_code=403, detail=f"this token may only create run {caller.run_id!r}")
    run_id = body.id or secrets.token_hex(8)
    name = body.name or f"run-{run_id[:8]}"
    start = body.start_time.timestamp() if body.start_time is not None else None

    def job(c: Connection) -> tuple[dict[str, Any], bool, dict[str, Any] | None]:
        before = store.get_run(c, run_id=run_id) if body.id else None
        row, created = store.create_run(
            c, run_id=run_id, name=name, project=body.project, config=body.config, start_time=start, status=body.status
        )
        if created and caller.user is not None:
            row = {**row, "created_by": caller.user}
            set_created_by(c, run_id=run_id, user=caller.user)
        return row, created, before

    row, created = await ingest_runs.create_run(state, job)
    if not created:
        response.status_code = 200
    return RunPublic.from_row(row)


@router.get("/{run_id}", response_model=RunPublic)
def get_run(run_id: str, state: State) -> RunPublic:
    with state.engines.reader.connect() as conn:
        row = store.get_run(conn, run_id=run_id)
        if row is not None:
            row = with_costs(conn, [row])[0]
            row["status_reason"] = events_store.status_reason(conn, run_id=run_id, status=row["status"])
    if row is None:
        not_found("run", run_id)
    return RunPublic.from_row(row)


@router.put("/{run_id}", response_model=RunPublic)
async def update_run(run_id: str, body: RunUpdate, state: State) -> RunPublic:
    """Change name, project, config, status or exit code. A status change is recorded as an event."""
    changes = body.model_dump(exclude_unset=True)
    reason = changes.pop("reason", None)
    changes = {k: v for k, v in changes.items() if v is not None or k == "exit_code"}

    def job(conn: Connection) -> tuple[dict[str, Any] | None, list[Transition]]:
        result = store.update_run(conn, run_id=run_id, changes=changes, reason=reason)
        if result is None:
            return None, []
        return result[1], [Transition(*result, reason=reason)]

    new = await ingest_runs.commit_transitions(state, job, origin="api", record_updates=True)
    if new is None:
        not_found("run", run_id)
    return RunPublic.from_row(new)


@router.delete(
    "/{run_id}",
    responses={
        403: {"description": "Created by another user (editors delete only their own)"},
        409: {"description": "A launched run whose job still runs: cancel it first"},
    },
)
async def delete_run(run_id: str, request: Request, state: State, caller: Caller) -> dict[str, Any]:
    """Delete the run and everything stored for it (metrics, logs, checkpoint records, events). With auth on,
    editors delete only the runs they created; admins any."""
    ip = client_ip(request)
    launched: list[dict[str, Any]] = []  # the launch record, for the job's files (launch service)

    def job(c: Connection) -> tuple[dict[str, int] | str | None, dict[str, Any] | None]:
        if not caller.is_admin and not caller.owns(created_by(c, run_id=run_id)):
            return "not yours", None
        launch = launches_store.get_launch(c, run_id=run_id)
        if launch is not None and not launch["finished"]:
            return "job active", None
        if launch is not None:
            launched.append(launch)
        removed = store.delete_run(c, run_id=run_id)
        if removed is None:
            return None, None
        record(c, caller, ip, "run_delete", run_id)
        return removed, feed.record_deleted(c, run_id=run_id)

    removed = await ingest_runs.delete_run(state, job, run_id=run_id)
    if removed == "not yours":
        raise HTTPException(403, detail=f"run {run_id!r} was created by someone else: only admins delete it")
    if removed == "job active":
        raise HTTPException(409, detail=f"run {run_id!r} is a launched job still running: cancel it first")
    if removed is None or isinstance(removed, str):
        not_found("run", run_id)
    if launched and (service := state.extras.get("launch")) is not None:
        await service.forget(launched[0])
    return {"deleted": run_id, "removed": removed}


@router.post("/{run_id}/heartbeat", status_code=204)
async def heartbeat(run_id: str, state: State) -> Response:
    """The SDK's sign of life; a running run without one for ``heartbeat_timeout`` turns interrupted."""

    def job(conn: Connection) -> tuple[bool, list[Transition]]:
        if not store.touch(conn, run_id=run_id):
            return False, []
        run = store.get_run(conn, run_id=run_id)
        if run is not None and run["status"] == "interrupted" and store.interrupted_by_heartbeat(conn, run_id=run_id):
            # marked interrupted for a lost heartbeat, yet its process is alive: it is running again
            reason = "heartbeat resumed"
            result = store.update_run(conn, run_id=run_id, changes={"status": "running"}, reason=reason)
            return True, [Transition(*result, reason=reason)] if result is not None else []
        return True, []

    if not await ingest_runs.commit_transitions(state, job, origin="heartbeat"):
        not_found("run", run_id)
    return Response(status_code=204)


@router.get("/{run_id}/events", response_model=EventList)
def list_events(
    run_id: str,
    state: State,
    after_id: Annotated[int, Query(ge=0, le=MAX_JSON_INT)] = 0,
    limit: Annotated[int, Query(ge=1, le=10000)] = 1000,
) -> EventList:
    """The run's event log in time order."""
    with state.engines.reader.connect() as conn:
        if store.get_run(conn, run_id=run_id) is None:
            not_found("run", run_id)
        rows = events_store.list_events(conn, run_id=run_id, after_id=after_id, limit=limit)
    return EventList(events=[EventOut(**{**r, "time": iso(r["time"])}) for r in rows])


@router.post("/{run_id}/tags", response_model=TagsOut)
async def change_tags(run_id: str, body: TagsChange, state: State) -> TagsOut:
    """Add and remove tags (adding one the run has, or removing one it lacks, changes nothing): the SDK's
    ``add_tags`` / ``remove_tags``, safe to send twice. Returns the run's tags."""

    def job(conn: Connection) -> tuple[list[str] | str | None, list[Transition]]:
        old = store.get_run(conn, run_id=run_id)
        if old is None:
            return None, []
        try:
            tags = run_tags.change_tags(conn, run_id=run_id, add=body.add, remove=body.remove)
        except ValueError as exc:
            return str(exc), []
        return tags, [Transition(old, {**old, "tags": tags})]

    tags = await ingest_runs.commit_transitions(state, job, origin="api", record_updates=True)
    if tags is None:
        not_found("run", run_id)
    if isinstance(tags, str):
        invalid(["body", "add"], tags)
    return TagsOut(tags=tags)
