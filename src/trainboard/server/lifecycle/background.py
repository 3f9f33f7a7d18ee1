"""Background tasks of a running server: trimming logs over the total limit, sampling the host's load,
marking silent runs interrupted, and making idle open log lines final (see ``start``); once across server
processes (``leader``)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from functools import partial

from sqlalchemy import Connection

from trainboard.server.ingest.log_indexer import LONG_IDLE_SECONDS
from trainboard.server.ingest.logs import flush_lines, recover_lines
from trainboard.server.ingest.runs import Transition, commit_transitions
from trainboard.server.lifecycle import leader
from trainboard.server.state import AppState
from trainboard.server.store import line_index
from trainboard.server.store import runs as runs_store

log = logging.getLogger(__name__)


async def watch_heartbeats(state: AppState) -> None:
    """Mark running runs whose heartbeat stopped for ``heartbeat_timeout`` seconds as interrupted."""
    timeout = state.settings.heartbeat_timeout
    started = time.time()
    while True:
        await asyncio.sleep(min(5.0, max(0.2, timeout / 4)))
        cutoff = time.time() - timeout
        if started > cutoff:
            continue  # give clients a full timeout to reach a server that just (re)started

        def sweep(conn: Connection, cutoff: float = cutoff) -> tuple[None, list[Transition]]:
            changed = []
            reason = f"{runs_store.HEARTBEAT_REASON} for {timeout:g} s"
            for run in runs_store.stale_running(conn, older_than=cutoff):
                result = runs_store.update_run(conn, run_id=run["id"], changes={"status": "interrupted"}, reason=reason)
                if result:
                    changed.append(Transition(*result, reason=reason))
            return None, changed

        try:
            await commit_transitions(state, sweep, origin="heartbeat")
        except Exception:  # keep watching; a failed sweep is retried next round
            log.exception("heartbeat sweep failed")


async def flush_idle_lines(state: AppState, interval: float = 5.0) -> None:
    """Index what a previous server process stored but did not index (once, at start), then make open log
    lines final once their run has had no new byte for ``LONG_IDLE_SECONDS`` (see log_indexer)."""

    def idle() -> list[str]:
        with state.engines.reader.connect() as conn:  # a read: no write transaction while nothing is idle
            return line_index.idle_runs(conn, quiet_since=time.time() - LONG_IDLE_SECONDS)

    try:
        await recover_lines(state)
    except Exception:
        log.exception("re-indexing log lines at start failed")
    while True:
        try:
            run_ids = await asyncio.to_thread(idle)
            if run_ids:
                await flush_lines(state, run_ids)
        except Exception:
            log.exception("idle line flush failed")
        await asyncio.sleep(interval)


async def sample_host(state: AppState) -> None:
    """Record the server host's load every ``system_interval`` seconds, keeping ``system_retention``."""
    from trainboard.server.store import system as system_store
    from trainboard.sysinfo import SystemCollector
    from trainboard.system_sources import load_sources

    collector = SystemCollector(sources=await asyncio.to_thread(load_sources, state.settings.plugins))
    state.extras["system_collector"] = collector
    while True:
        await asyncio.sleep(state.settings.system_interval)
        try:
            sample = await asyncio.to_thread(collector.collect)
            now = time.time()
            keep_after = now - state.settings.system_retention
            await state.ingest.commit(partial(system_store.add_sample, at=now, sample=sample, keep_after=keep_after))
        except Exception:
            log.exception("host sampling failed")


async def enforce_log_limit(state: AppState, interval: float = 10.0) -> None:
    """Keep all runs' log bytes under ``log_limit_total``: trim the oldest bytes (of the runs whose
    stored output is oldest) to 90 % of the limit, each trim recorded in that run's events."""
    from trainboard.server.store import logs as logs_store

    limit = state.settings.log_limit_total

    def job(conn: Connection) -> int:
        total = logs_store.stored_bytes(conn)
        trimmed = 0
        goal = int(limit * 0.9)
        while total > limit and total - trimmed > goal:
            progressed = False
            for run_id in logs_store.oldest_runs_with_logs(conn):
                ext = logs_store.extent(conn, run_id=run_id)
                if ext is None:
                    continue
                excess = total - trimmed - goal
                keep = max(0, (ext.size - ext.start) - excess)
                info = logs_store.trim_run(conn, run_id=run_id, keep_bytes=keep, reason=f"total limit {limit} bytes")
                if info:
                    trimmed += info["bytes"]
                    progressed = True
                if total - trimmed <= goal:
                    break
            if not progressed:
                break
        return trimmed

    while limit:
        await asyncio.sleep(interval)
        try:
            await state.ingest.commit(job)
        except Exception:
            log.exception("log retention failed")


def start(state: AppState, extra: Sequence[tuple[str, leader.Job]] = ()) -> list[asyncio.Task[None]]:
    """Start the jobs (and ``extra``: the launch watcher). With several server processes on PostgreSQL they run
    in one of them at a time, the holder of an advisory lock (``leader``); a process that dies hands them over
    within seconds."""
    jobs: list[tuple[str, leader.Job]] = [
        *extra,
        ("log-retention", partial(enforce_log_limit, state, interval=min(10.0, state.settings.heartbeat_timeout))),
        ("system", partial(sample_host, state)),
        ("heartbeats", partial(watch_heartbeats, state)),
        ("idle-lines", partial(flush_idle_lines, state)),
    ]
    return [asyncio.create_task(leader.lead(state.settings.database_url, jobs), name="background-leader")]
