"""Events a client reports about its own run: ``POST /api/runs/{run_id}/events``.

Today one kind: ``server_unreachable`` — the SDK could not reach the server from ``since`` to ``until`` and
delivered ``records`` journal records (``bytes`` bytes) late, once it got through again. Stored in the run's
event log (``GET /api/runs/{run_id}/events``) like the server's own events, so whoever looks at the run knows
its live view had a gap. A report carries the client's ``id``: the SDK's journal may send it twice (a retry
after a lost answer), and the second one changes nothing.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path
from pydantic import Field
from sqlalchemy import Connection

from trainboard.server.api.errors import not_found
from trainboard.server.api.schemas import EventOut, InModel, iso
from trainboard.server.ingest.runs import commit_transitions
from trainboard.server.state import State
from trainboard.server.store import events as events_store
from trainboard.server.store import runs as runs_store
from trainboard.wire import MAX_JSON_INT

router = APIRouter(prefix="/api/runs/{run_id}/events", tags=["runs"])

#: Seconds since the epoch that a client may report (to the year 9999).
MAX_EPOCH = 253402300799.0


class ClientEventIn(InModel):
    """A period in which the client could not reach the server, reported once it got through."""

    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$", description="The client's id of it")
    kind: Literal["server_unreachable"]
    message: str = Field(min_length=1, max_length=1000, description="The sentence shown with the event")
    since: float = Field(ge=0, le=MAX_EPOCH, description="When the client lost the server (epoch seconds)")
    until: float = Field(ge=0, le=MAX_EPOCH, description="When a request got through again")
    records: int = Field(ge=0, le=MAX_JSON_INT, description="Journal records delivered late")
    bytes: int = Field(ge=0, le=MAX_JSON_INT, description="Their size")


@router.post("", response_model=EventOut, status_code=201)
async def report_event(
    run_id: Annotated[str, Path(min_length=1, max_length=64)], body: ClientEventIn, state: State
) -> EventOut:
    """Record what the client reports about its run (idempotent by ``id``)."""
    data = body.model_dump(exclude={"kind", "message"})

    def job(conn: Connection) -> tuple[dict[str, Any] | None, list[Any]]:
        if runs_store.get_run(conn, run_id=run_id) is None:
            return None, []
        for event in events_store.list_events(conn, run_id=run_id, limit=100_000):
            if event["kind"] == body.kind and event["data"].get("id") == body.id:
                return event, []
        stored = events_store.add_event(
            conn, run_id=run_id, kind=body.kind, message=body.message, data=data, at=body.since
        )
        return stored, []

    event = await commit_transitions(state, job, origin="sdk")
    if event is None:
        not_found("run", run_id)
    return EventOut(**{**event, "time": iso(event["time"])})
