"""The task that keeps this process's Prometheus gauges current (``observability.metrics``; served by
``api/prometheus.py``)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sqlalchemy import text

from trainboard.server.observability import metrics
from trainboard.server.state import AppState

log = logging.getLogger(__name__)

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
