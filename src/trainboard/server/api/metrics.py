"""Metrics: batch ingest, history (columnar, spike-preserving downsampling), latest values."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.exceptions import RequestValidationError
from starlette.concurrency import run_in_threadpool

from trainboard.server.api.errors import invalid, not_found
from trainboard.server.api.metric_parse import BatchError, parse_batch
from trainboard.server.api.schemas import (
    NONFINITE_DOC,
    MetricBatchIn,
    MetricBatchResult,
    MetricHistory,
    MetricLatest,
    MetricPointIn,
    ParsedOrigin,
    SeriesOut,
    inline_schema,
)
from trainboard.server.ingest.metrics import Refused, ingest_metrics
from trainboard.server.state import State
from trainboard.server.store import metrics as store
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
    + " The response comes after the batch is committed to the database "
    "(with SQLite: synchronous=FULL, durable across a power loss).",
)
async def post_metrics(run_id: str, request: Request, state: State) -> MetricBatchResult:
    body = await request.body()
    try:
        stream, points, blocks = await run_in_threadpool(parse_batch, body)
    except BatchError as exc:
        raise RequestValidationError(exc.errors) from None
    result = await ingest_metrics(state, run_id=run_id, stream=stream, points=points, blocks=blocks)
    if result is None:
        not_found("run", run_id)
    if isinstance(result, Refused):
        invalid(["body"], result.reason)
    return MetricBatchResult(accepted=result.accepted, duplicates=result.duplicates, last_step=result.last_step)


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
) -> MetricHistory:
    with state.engines.reader.connect() as conn:
        run = runs_store.get_run(conn, run_id=run_id)
        if run is None:
            not_found("run", run_id)
        printed = _printed_digits(run)
        ids = store.list_keys(conn, run_id=run_id)
        wanted = [k for k in keys.split(",") if k] if keys else list(ids)
        out = {}
        for key in wanted:
            if key not in ids:
                continue
            out[key] = SeriesOut(**store.history(conn, series_id=ids[key], start=start, end=end, max_points=max_points))
            if key in printed:
                out[key].parsed = ParsedOrigin(significant_digits=printed[key])
    return MetricHistory(run_id=run_id, metrics=out)


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
