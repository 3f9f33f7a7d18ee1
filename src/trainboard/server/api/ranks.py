"""Ranks of a distributed run: register/update a rank (``PUT``), list them with step times and stragglers."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from trainboard.server.api.errors import not_found
from trainboard.server.api.schemas import EpochSeconds, InModel
from trainboard.server.ingest import ranks as ingest_ranks
from trainboard.server.state import State
from trainboard.server.store import ranks as store
from trainboard.server.store import runs as runs_store
from trainboard.server.store.rank_steps import StepTimes

router = APIRouter(prefix="/api/runs/{run_id}/ranks", tags=["ranks"])

Launcher = Literal["torchrun", "accelerate", "deepspeed", "slurm", "mpi", "unknown"]
SmallInt = Annotated[int, Field(ge=0, le=store.MAX_RANK)]


class RankIn(InModel):
    """Every field optional; a field given (null included: cleared) is set, the others are kept."""

    local_rank: SmallInt | None = None
    node: str | None = Field(None, max_length=256, description="Host name")
    node_rank: SmallInt | None = None
    world_size: Annotated[int, Field(ge=1, le=store.MAX_RANK + 1)] | None = None
    pid: Annotated[int, Field(ge=0, le=2**31 - 1)] | None = None
    gpus: list[Annotated[int, Field(ge=0, le=65535)]] | None = Field(
        None, max_length=1024, description="Physical GPU indices this rank may use"
    )
    launcher: Launcher | None = None
    exit_code: Annotated[int, Field(ge=-(2**31), le=2**31 - 1)] | None = None
    ended_at: EpochSeconds | None = None
    error: str | None = Field(
        None, max_length=store.MAX_ERROR, description='"ExcType: message" and where (at most 4000 characters)'
    )


class RankOut(BaseModel):
    rank: int
    local_rank: int | None = None
    node: str | None = None
    node_rank: int | None = None
    world_size: int | None = None
    pid: int | None = None
    gpus: list[int] | None = None
    launcher: str | None = None
    exit_code: int | None = None
    ended_at: float | None = None
    error: str | None = None
    bytes: int = Field(0, description="Raw terminal bytes stored for this rank")
    step_time_median: float | None = Field(
        None, description="Median seconds between successive steps of its metrics (null: fewer than 5 known)"
    )
    straggler: bool = Field(False, description="Consistently slower than the median of the ranks by 20 % or more")
    slower_by_percent: float | None = None


class FirstFailure(BaseModel):
    rank: int
    node: str | None
    error: str | None
    ended_at: float | None


class RankList(BaseModel):
    ranks: list[RankOut]
    world_size: int | None = Field(description="The world size the ranks reported (the largest)")
    first_failure: FirstFailure | None = Field(
        description="The rank that failed first: earliest `ended_at` among ranks with a non-zero exit code"
    )


RankPath = Annotated[int, Path(ge=0, le=store.MAX_RANK, description="Global rank")]


@router.put("/{rank}", response_model=RankOut)
async def put_rank(run_id: str, rank: RankPath, body: RankIn, state: State) -> RankOut:
    """Register a rank or update the fields given (idempotent)."""
    record = await ingest_ranks.register_rank(
        state, run_id=run_id, rank=rank, fields=body.model_dump(exclude_unset=True)
    )
    if record is None:
        not_found("run", run_id)
    return RankOut(**record)


@router.get("", response_model=RankList)
async def list_ranks(run_id: str, state: State) -> RankList:
    """Every rank's record, its stored bytes, step time and straggler flag, and the first failing rank."""

    def read() -> tuple[list[dict[str, Any]], dict[int, StepTimes]] | None:
        with state.engines.reader.connect() as conn:
            if runs_store.get_run(conn, run_id=run_id) is None:
                return None
            records = store.list_ranks(conn, run_id=run_id)
        return records, ingest_ranks.measure(state, run_id, records) if records else {}

    found = await asyncio.to_thread(read)
    if found is None:
        not_found("run", run_id)
    records, measured = found
    noted = {int(r["rank"]) for r in records if r["straggler_noted"]}
    if any(t.straggler and rank not in noted for rank, t in measured.items()):
        await ingest_ranks.check_stragglers(state, run_id=run_id, measured=measured)
    out = []
    for r in records:
        times = measured.get(int(r["rank"]))
        extra = (
            {}
            if times is None
            else {
                "step_time_median": times.median,
                "straggler": times.straggler,
                "slower_by_percent": times.slower_by_percent,
            }
        )
        out.append(RankOut.model_validate({**r, **extra}))
    sizes = [r.world_size for r in out if r.world_size is not None]
    failure = store.first_failure([r.model_dump() for r in out])
    return RankList(
        ranks=out,
        world_size=max(sizes) if sizes else None,
        first_failure=None if failure is None else FirstFailure(**failure),
    )


__all__ = ["router"]
