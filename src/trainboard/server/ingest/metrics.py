"""Metric batches: commit, count, publish the live updates, hand the batch to the subscribers."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from sqlalchemy import Connection, func, select

from trainboard.server.ingest.changes import MetricBatch, MetricStep
from trainboard.server.observability.ingest import observe_metric_batch
from trainboard.server.store import metrics as store
from trainboard.server.store.tables import runs, series
from trainboard.server.stream.publish import MAX_LIVE_STEPS, MetricUpdate, publish_metrics, wants_metrics
from trainboard.wire import MAX_RUN_KEYS

if TYPE_CHECKING:
    from trainboard.server.state import AppState


@dataclass(frozen=True)
class Refused:
    """The batch was refused as a whole (nothing written): ``reason`` says why."""

    reason: str


async def ingest_metrics(
    state: AppState,
    *,
    run_id: str,
    stream: str | None,
    points: list[store.Point],
    blocks: list[store.Block],
) -> store.IngestResult | Refused | None:
    """Write a parsed batch (``None``: no such run). A huge batch is written in parts, so that other runs'
    writes go on between them; it is handed to the subscribers once, after its last part."""
    path = state.ingest
    live = wants_metrics(state.broker, run_id)
    keys = {k for _s, _t, _w, values in points for k in values} | {k for b in blocks for k in b.keys}
    n_keys, n_values = store.batch_size(points, blocks)
    if n_keys <= store.PART_KEYS and n_values <= store.PART_VALUES:

        def whole(conn: Connection) -> store.IngestResult | str | None:
            if (refused := _over_key_limit(conn, run_id, keys)) is not None:
                return refused
            return store.ingest(conn, run_id=run_id, stream=stream, points=points, blocks=blocks)

        def changes(conn: Connection, result: store.IngestResult | str | None) -> list[MetricBatch]:
            if not isinstance(result, store.IngestResult) or not result.accepted:
                return []
            return [MetricBatch(**path.stamp(conn, run_id), stream=stream, rows=partial(all_steps, result))]

        result = await path.commit(whole, changes)
    else:
        project = await asyncio.to_thread(_project, state, run_id) if path.subscribers.active else ""
        result = await store.ingest_in_parts(
            state.writer,
            state.engines.reader,
            run_id=run_id,
            stream=stream,
            points=points,
            blocks=blocks,
            precheck=lambda conn: _over_key_limit(conn, run_id, keys),
        )
        if isinstance(result, store.IngestResult) and result.accepted and path.subscribers.active:
            path.subscribers.deliver(
                [
                    MetricBatch(
                        run_id=run_id,
                        project=project,
                        committed_at=time.time(),
                        stream=stream,
                        rows=partial(all_steps, result),
                    )
                ]
            )
    if isinstance(result, str):
        return Refused(result)
    if result is None:
        return None
    observe_metric_batch(result.accepted, points, blocks)
    if live:
        publish_metrics(state.broker, run_id, live_updates(result))
    return result


def _project(state: AppState, run_id: str) -> str:
    with state.engines.reader.connect() as conn:
        return str(conn.execute(select(runs.c.project).where(runs.c.id == run_id)).scalar() or "")


def all_steps(result: store.IngestResult) -> list[MetricStep]:
    """Every written row as (step, wall time, {key: value}): the points, then each block's rows."""
    out: list[MetricStep] = list(result.points)
    for block in result.blocks:
        rows = block.values.tolist()
        for step, at, row in zip(block.steps.tolist(), block.times.tolist(), rows, strict=True):
            out.append((int(step), float(at), dict(zip(block.keys, row, strict=True))))
    return out


def live_updates(result: store.IngestResult) -> list[MetricUpdate]:
    """(step, wall time, {key: value}) per written row, oldest first: the last ``MAX_LIVE_STEPS`` of them
    (a dashboard draws the rest from history, so no more are built)."""
    updates: list[MetricUpdate] = list(result.points[-MAX_LIVE_STEPS:])
    for block in result.blocks:
        for i in range(max(0, len(block.steps) - MAX_LIVE_STEPS), len(block.steps)):
            values = dict(zip(block.keys, block.values[i].tolist(), strict=True))
            updates.append((int(block.steps[i]), float(block.times[i]), values))
    return updates[-MAX_LIVE_STEPS:]


def _over_key_limit(conn: Connection, run_id: str, keys: set[str]) -> str | None:
    """Why the batch would take the run over ``MAX_RUN_KEYS`` distinct keys, else ``None`` (counted only when
    it could, so a normal batch costs one indexed count)."""
    have = conn.execute(select(func.count()).select_from(series).where(series.c.run_id == run_id)).scalar_one()
    if have + len(keys) <= MAX_RUN_KEYS:
        return None
    known = set(store.list_keys(conn, run_id=run_id))
    new = len(keys - known)
    if have + new <= MAX_RUN_KEYS:
        return None
    return f"the run has {have} metric keys and this batch adds {new}; the limit is {MAX_RUN_KEYS} keys per run"
