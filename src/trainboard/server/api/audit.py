"""The audit log (admins only): logins, token and user changes, deletes - newest first."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from trainboard.server.state import State
from trainboard.server.store import audit as audit_store
from trainboard.wire import MAX_JSON_INT

router = APIRouter(prefix="/api/audit", tags=["audit"])


class AuditEntry(BaseModel):
    id: int
    time: float = Field(description="Epoch seconds")
    user: str | None
    action: str
    target: str
    detail: str
    ip: str


class AuditList(BaseModel):
    entries: list[AuditEntry]


@router.get("", response_model=AuditList)
def list_audit(
    state: State,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    before: Annotated[int | None, Query(ge=1, le=MAX_JSON_INT, description="Entries with a smaller id")] = None,
) -> AuditList:
    with state.engines.reader.connect() as conn:
        return AuditList(entries=[AuditEntry(**e) for e in audit_store.list_entries(conn, limit=limit, before=before)])
