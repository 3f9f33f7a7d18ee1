"""Metrics: batch ingest, history (columnar, spike-preserving downsampling), latest values."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool

from trainboard.server.api.errors import invalid, not_found
from trainboard.server.api.metric_parse import BatchError, parse_ranked
from trainboard.server.api.schemas import (
    NONFINITE_DOC,
    MetricBatchIn,
    MetricBatchResult,
    MetricHistory,
    MetricLatest,
    MetricPointIn,
    ParsedOrigin,
    RankSeriesOut,
    SeriesOut,
    inline_schema,
)
from trainboard.server.ingest.metrics import Refused, ingest_metrics
from trainboard.server.ingest.ranks import ingest_rank_metrics
from trainboard.server.state import State
from trainboard.server.store import metrics as store
from trainboard.server.store import ranks as ranks_store
from trainboard.server.store import runs as runs_store
from trainboard.wire import MAX_STEP
from trainboard.wire.metric_batch import BLOCKS_DOC

router = APIRouter(prefix="/api/runs/{run_id}/metrics", tags=["metrics"])


@router.post(
    "",
    response_model=MetricBatchResult,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"anyOf": [inline_schema(MetricBatchIn), inline_schema(MetricPointIn)]}}
            },
        }
    },
    description='Append a batch of points (`{"stream", "points": [...]}`), or a single point. '
    + NONFINITE_DOC
    + " "
    + BLOCKS_DOC
    + ' A point, a block or the batch may carry `"rank": N` (a distributed run\'s rank; absent or 0: rank 0,'
    " the run's default series)." + " The response comes after the batch is committed to the database "
    "(with SQLite: synchronous=FULL, durable across a power loss).",
)
async def post_metrics(run_id: str, request: Request, state: State) -> MetricBatchResult:
    body = await request.body()
    try:
        stream, groups = await run_in_threadpool(parse_ranked, body)
    except BatchError as exc:
        raise RequestValidationError(exc.errors) from None
    out = MetricBatchResult(accepted=0, duplicates=0, last_step=None)
    for rank, (points, blocks) in sorted(groups.items()):
        if rank == 0:
            result = await ingest_metrics(state, run_id=run_id, stream=stream, points=points, blocks=blocks)
            if isinstance(result, Refused):
                invalid(["body"], result.reason)
        else:
            result = await ingest_rank_metrics(
                state, run_id=run_id, rank=rank, stream=stream, points=points, blocks=blocks
            )
        if result is None:
            not_found("run", run_id)
        out.accepted += result.accepted
        out.duplicates += result.duplicates
        if rank == 0 or out.last_step is None:
            out.last_step = result.last_step
    return out


@router.get("", response_model=MetricHistory, description="Columnar history per key. " + NONFINITE_DOC)
def get_metrics(
    run_id: str,
    state: State,
    keys: Annotated[str | None, Query(description="Comma-separated keys; all keys when omitted")] = None,
    start: Annotated[int | None, Query(ge=0, le=MAX_STEP, description="First step (inclusive)")] = None,
    end: Annotated[
        int | None, Query(ge=0, le=MAX_STEP, description="Last step (inclusive); before `start`: an empty range")
    ] = None,
    max_points: Annotated[
        int | None,
        Query(
            ge=4,
            le=1_000_000,
            description=(
                "At most this many points per key: per step bucket the min, max, last and first-NaN points "
                "are kept (spikes survive), recomputed for every range; `count` is the true number stored."
            ),
        ),
    ] = None,
    rank: Annotated[
        str | None,
        Query(
            pattern=r"^(all|0|[1-9][0-9]{0,6})$",
            description="A distributed run's rank whose series to return (default 0, the run's own); `all`: "
            "rank 0's in `metrics` and every other rank's in `per_rank`",
        ),
    ] = None,
) -> MetricHistory:
    if rank not in (None, "all") and int(rank) > ranks_store.MAX_RANK:
        invalid(["query", "rank"], f"must be `all` or a rank in [0, {ranks_store.MAX_RANK}]")
    with state.engines.reader.connect() as conn:
        run = runs_store.get_run(conn, run_id=run_id)
        if run is None:
            not_found("run", run_id)
        printed = _printed_digits(run)
        if rank not in (None, "all", "0"):
            owner = ranks_store.series_owner(run_id, int(rank))
            ids = store.list_keys(conn, run_id=owner)
            wanted = [k for k in keys.split(",") if k] if keys else list(ids)
            shown = {
                k: SeriesOut(**store.history(conn, series_id=ids[k], start=start, end=end, max_points=max_points))
                for k in wanted
                if k in ids
            }
            return MetricHistory(run_id=run_id, metrics=shown, rank=int(rank), per_rank=None)
        per_rank = _per_rank(conn, run_id, keys, start, end, max_points) if rank == "all" else None
        ids = store.list_keys(conn, run_id=run_id)
        wanted = [k for k in keys.split(",") if k] if keys else list(ids)
        out = {}
        for key in wanted:
            if key not in ids:
                continue
            out[key] = SeriesOut(**store.history(conn, series_id=ids[key], start=start, end=end, max_points=max_points))
            if key in printed:
                out[key].parsed = ParsedOrigin(significant_digits=printed[key])
    return MetricHistory(run_id=run_id, metrics=out, rank=None, per_rank=per_rank)


def _per_rank(
    conn: Connection, run_id: str, keys: str | None, start: int | None, end: int | None, max_points: int | None
) -> list[RankSeriesOut]:
    """Every rank's (> 0) series of ``keys`` (all keys when None)."""
    wanted = {k for k in keys.split(",") if k} if keys else None
    out = []
    for record in ranks_store.list_ranks(conn, run_id=run_id):
        if record["rank"] == 0:
            continue
        ids = store.list_keys(conn, run_id=ranks_store.series_owner(run_id, record["rank"]))
        for key, sid in ids.items():
            if wanted is None or key in wanted:
                hist = store.history(conn, series_id=sid, start=start, end=end, max_points=max_points)
                out.append(RankSeriesOut(key=key, rank=record["rank"], **hist))
    return out


@router.get("/latest", response_model=MetricLatest)
def get_latest(run_id: str, state: State) -> MetricLatest:
    """The value at the highest step of every key (also the list of keys)."""
    with state.engines.reader.connect() as conn:
        if runs_store.get_run(conn, run_id=run_id) is None:
            not_found("run", run_id)
        latest = store.latest(conn, run_id=run_id)
    return MetricLatest.model_validate({"run_id": run_id, "metrics": latest})


def _printed_digits(run: dict[str, Any]) -> dict[str, int]:
    """Keys ``trainboard run`` read from printed text -> their printed significant digits (its config entry)."""
    noted = (run.get("config") or {}).get("trainboard.parsed_digits")
    if not isinstance(noted, dict):
        return {}
    return {k: v for k, v in noted.items() if isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool)}
