"""The server host's CPU, memory, disk, network and GPU load: now and over time."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Query

from trainboard.server.api.schemas import QueryTime, iso
from trainboard.server.state import State
from trainboard.server.store import system as store
from trainboard.sysinfo import nest_sample

router = APIRouter(prefix="/api/system", tags=["system"])


@router.get("/status")
def status(state: State) -> dict[str, Any]:
    """The newest sample of the server's host (sampled every few seconds), nested for display:
    ``cpu_percent``, ``ram_*``, ``disk_*``, ``net_*`` and ``gpus`` (empty without an NVIDIA GPU)."""
    with state.engines.reader.connect() as conn:
        last = store.latest(conn)
    if last is None:
        collector = state.extras.get("system_collector")
        sample = collector.collect() if collector is not None else {}
        at = time.time()
    else:
        at, sample = last
    return {"time": iso(at), **nest_sample(sample)}


@router.get("/history")
def history(
    state: State,
    since: Annotated[QueryTime | None, Query(description="ISO 8601 time or epoch seconds")] = None,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 720,
) -> dict[str, Any]:
    """Samples since ``since`` (the newest ``limit``), oldest first, as flat ``sys/*`` dicts."""
    with state.engines.reader.connect() as conn:
        rows = store.history(conn, since=since.timestamp() if since else None, limit=limit)
    return {"samples": [{"time": iso(t), **s} for t, s in rows]}
