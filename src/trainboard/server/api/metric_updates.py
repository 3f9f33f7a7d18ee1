"""The live updates of an ingested metric batch: what the dashboard's open pages receive (built here, in the
API layer, only when someone watches; the store only reports the rows it wrote)."""

from __future__ import annotations

from trainboard.server.store.metrics import IngestResult
from trainboard.server.stream.publish import MAX_LIVE_STEPS, MetricUpdate


def live_updates(result: IngestResult) -> list[MetricUpdate]:
    """(step, wall time, {key: value}) per written row, oldest first: the last ``MAX_LIVE_STEPS`` of them
    (a dashboard draws the rest from history, so no more are built)."""
    updates: list[MetricUpdate] = list(result.points[-MAX_LIVE_STEPS:])
    for block in result.blocks:
        for i in range(max(0, len(block.steps) - MAX_LIVE_STEPS), len(block.steps)):
            values = dict(zip(block.keys, block.values[i].tolist(), strict=True))
            updates.append((int(block.steps[i]), float(block.times[i]), values))
    return updates[-MAX_LIVE_STEPS:]
