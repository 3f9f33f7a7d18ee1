"""Background tasks of a running server: marking silent runs interrupted."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from sqlalchemy import Connection

from trainboard.server.state import AppState
from trainboard.server.store import runs as runs_store

log = logging.getLogger(__name__)


async def watch_heartbeats(state: AppState) -> None:
    """Mark running runs whose heartbeat stopped for ``heartbeat_timeout`` seconds as interrupted."""
    from trainboard.server.api.runs import publish_status

    timeout = state.settings.heartbeat_timeout
    while True:
        await asyncio.sleep(min(5.0, max(0.2, timeout / 4)))
        cutoff = time.time() - timeout

        def sweep(conn: Connection, cutoff: float = cutoff) -> list[tuple[dict[str, Any], dict[str, Any]]]:
            changed = []
            for run in runs_store.stale_running(conn, older_than=cutoff):
                result = runs_store.update_run(
                    conn, run_id=run["id"], changes={"status": "interrupted"}, reason=f"no heartbeat for {timeout:g} s"
                )
                if result:
                    changed.append(result)
            return changed

        try:
            for old, new in await state.writer.run(sweep):
                publish_status(state, old, new)
        except Exception:  # keep watching; a failed sweep is retried next round
            log.exception("heartbeat sweep failed")


def start(state: AppState) -> list[asyncio.Task[None]]:
    return [asyncio.create_task(watch_heartbeats(state), name="heartbeats")]
