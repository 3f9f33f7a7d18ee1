"""Project budgets: ``GET /api/budgets``, ``GET|PUT|DELETE /api/projects/{project}/budget``.

A budget is US dollars a project's launched runs may cost (``server.costs``); its spending is the sum of its
runs' costs, live while they run. Setting one needs an admin; reading, any reader. When spending reaches the
budget the crossing is recorded once (``crossed_at``), as an event of the project's latest priced run, and
announced through ``costs.on_budget_crossed``.
"""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Request
from pydantic import BaseModel, Field
from sqlalchemy import Connection

from trainboard.server.api.schemas import InModel
from trainboard.server.auth.audit import client_ip, record
from trainboard.server.auth.identity import Caller, require
from trainboard.server.auth.roles import ADMIN
from trainboard.server.state import State
from trainboard.server.store import costs as store

router = APIRouter(tags=["costs"])

ProjectName = Annotated[str, Path(min_length=1, max_length=256)]


class BudgetIn(InModel):
    usd: float = Field(gt=0, le=1e9, description="US dollars the project's runs may cost")


class BudgetOut(BaseModel):
    project: str
    usd: float = Field(description="The budget, US dollars")
    spent_usd: float = Field(description="What the project's priced runs cost so far (running ones up to now)")
    set_by: str | None
    set_at: float
    crossed_at: float | None = Field(description="When spending reached the budget (null: not yet)")
    crossed_usd: float | None = Field(description="The spending when it was crossed")


class BudgetList(BaseModel):
    budgets: list[BudgetOut]


def _out(conn: Connection, row: dict[str, object], now: float) -> BudgetOut:
    project = str(row["project"])
    return BudgetOut(**{**row, "spent_usd": round(store.project_spend(conn, project, now=now), 6)})  # type: ignore[arg-type]


@router.get("/api/budgets", response_model=BudgetList)
def list_budgets(state: State) -> BudgetList:
    """Every project's budget with what it has spent."""
    now = time.time()
    with state.engines.reader.connect() as conn:
        return BudgetList(budgets=[_out(conn, b, now) for b in store.list_budgets(conn)])


@router.get("/api/projects/{project}/budget", response_model=BudgetOut)
def get_budget(project: ProjectName, state: State) -> BudgetOut:
    with state.engines.reader.connect() as conn:
        found = store.get_budget(conn, project)
        if found is None:
            raise HTTPException(status_code=404, detail=f"project {project!r} has no budget")
        return _out(conn, found, time.time())


@router.put("/api/projects/{project}/budget", response_model=BudgetOut)
async def set_budget(project: ProjectName, body: BudgetIn, request: Request, state: State, caller: Caller) -> BudgetOut:
    """Set (or change) a project's budget; a changed budget is compared with the spending afresh."""
    require(caller, ADMIN, "setting a budget")
    ip = client_ip(request)

    def job(c: Connection) -> dict[str, object]:
        record(c, caller, ip, "budget_set", project, f"usd={body.usd:g}")
        return store.set_budget(c, project=project, usd=body.usd, by=caller.actor)

    row = await state.ingest.commit(job)
    with state.engines.reader.connect() as conn:
        return _out(conn, row, time.time())


@router.delete("/api/projects/{project}/budget", status_code=204)
async def delete_budget(project: ProjectName, request: Request, state: State, caller: Caller) -> None:
    require(caller, ADMIN, "removing a budget")
    ip = client_ip(request)

    def job(c: Connection) -> bool:
        record(c, caller, ip, "budget_delete", project, "")
        return store.delete_budget(c, project=project)

    if not await state.ingest.commit(job):
        raise HTTPException(status_code=404, detail=f"project {project!r} has no budget")
