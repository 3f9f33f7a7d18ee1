"""``GET /metrics`` (Prometheus text format) and the task that keeps this process's gauges current.

Who may read it: the same as any other ``GET`` of the API. With authentication off (loopback, no users)
anyone who can reach the server; with it on, a ``read`` token (Prometheus: ``authorization: {credentials:
<token>}`` in the scrape config) or a signed-in user. The figures name no run and no user, but they tell
how busy the server is, so they are not public on an exposed server.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from fastapi import APIRouter, Response
from sqlalchemy import text

from trainboard.server.observability import metrics
from trainboard.server.state import AppState, State

log = logging.getLogger(__name__)

router = APIRouter(tags=["operations"])

#: Seconds between two refreshes of this process's gauges (queue depth, database and Redis health).
REFRESH_SECONDS = 2.0


def refresh(state: AppState) -> None:
    """Set this process's gauges from what it holds now (blocking: runs a ``SELECT 1``)."""
    metrics.WRITE_QUEUE.set(state.writer.depth())
    try:
        with state.engines.reader.connect() as conn:
            conn.execute(text("SELECT 1"))
        metrics.DATABASE_UP.set(1)
    except Exception:
        metrics.DATABASE_UP.set(0)
    healthy: Any = getattr(state.broker, "healthy", None)
    if healthy is not None:
        metrics.set_redis_up(bool(healthy))


async def keep_fresh(state: AppState, interval: float = REFRESH_SECONDS) -> None:
    """Refresh the gauges every ``interval`` seconds (each process its own: ``/metrics`` adds them up)."""
    while True:
        try:
            await asyncio.to_thread(refresh, state)
        except Exception:
            log.exception("refreshing the Prometheus gauges failed")
        await asyncio.sleep(interval)


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text exposition format"}},
)
async def prometheus_metrics(state: State) -> Response:
    """The server's Prometheus metrics, summed over every worker process (see
    ``trainboard.server.observability.metrics`` for the names). Needs ``read`` when authentication is on."""
    await asyncio.to_thread(refresh, state)
    body, content_type = await asyncio.to_thread(metrics.exposition)
    return Response(body, media_type=content_type)
