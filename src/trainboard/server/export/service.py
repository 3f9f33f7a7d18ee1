"""Log export wired into a running app: the write-path subscriber, the alert listener, the sinks' runners.

The subscriber (``ExportService.__call__``) runs on the event loop: it turns a committed change into records and
offers them to each sink whose filters they pass — appends to bounded buffers, nothing that waits. Alerts are not
write-path changes: they are taken from what the dashboards are told (``{"type": "alert"}`` on the runs topic).
With ``serve --workers N`` (N > 1) every process hears every alert, so alert events are not exported there (the
status says so); lines and status changes are exported by the process that committed them, once.
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import logging
import time
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from trainboard.server.export.config import ConfigError, ExportConfig, SinkConfig, load_exporters
from trainboard.server.export.records import Record, alert_record, records_of
from trainboard.server.export.runner import Sink, SinkRunner
from trainboard.server.ingest.changes import Change, SubscriberLagged
from trainboard.server.state import AppState
from trainboard.server.store.runs import get_run
from trainboard.server.stream import topics

__all__ = ["EXTRA_KEY", "ConfigError", "ExportService", "make_sink", "start"]

log = logging.getLogger(__name__)

#: Where the running service is kept in ``AppState.extras`` (``GET /api/export/status`` reads it).
EXTRA_KEY = "export"
#: Seconds the sinks get at shutdown to send what they hold.
STOP_SECONDS = 5.0


def make_sink(config: SinkConfig) -> Sink:
    """The sink for ``config.type`` (each module is imported only when configured)."""
    if config.type == "loki":
        from trainboard.server.export.loki import LokiSink

        return LokiSink(config)
    if config.type == "otlp":
        from trainboard.server.export.otlp import OtlpSink

        return OtlpSink(config)
    from trainboard.server.export.syslog import SyslogSink

    return SyslogSink(config)


def shown_endpoint(endpoint: str) -> str:
    """The endpoint without user name, password or query (they may hold credentials)."""
    parts = urlsplit(endpoint)
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def wanted(config: SinkConfig, record: Record) -> bool:
    """Whether ``record`` passes the sink's filters (kind, project patterns, levels)."""
    if not (config.lines if record.kind == "line" else config.events):
        return False
    if config.projects and not any(fnmatch.fnmatchcase(record.project, p) for p in config.projects):
        return False
    if config.levels is not None:
        return record.labels.get("level", "") in config.levels
    return record.level_no >= config.min_level


def takes_everything(config: SinkConfig) -> bool:
    return config.lines and config.events and not config.projects and config.levels is None and config.min_level <= 0


class ExportService:
    """The ``export`` subscriber and the runners of the configured sinks."""

    name = "export"

    def __init__(self, config: ExportConfig, runners: Sequence[SinkRunner], *, alerts: bool = True) -> None:
        self.config = config
        self.runners = list(runners)
        #: (runner, takes everything): a sink without filters gets the records as they are, no test per record.
        self._runners = [(r, takes_everything(r.config)) for r in self.runners]
        #: Whether alert events are exported (not with several server processes: see the module docstring).
        self.alerts = alerts
        self.lagged_changes = 0
        self._stopped = False

    def __call__(self, change: Change) -> None:
        if isinstance(change, SubscriberLagged):  # the write path dropped changes for us: say so, once a minute
            self.lagged_changes += change.dropped
            return
        self.offer(records_of(change))

    def offer(self, records: Sequence[Record]) -> None:
        if not records:
            return
        for runner, unfiltered in self._runners:
            chosen = records if unfiltered else [r for r in records if wanted(runner.config, r)]
            if chosen:
                runner.offer(chosen)

    def status(self) -> dict[str, Any]:
        return {
            "config": str(self.config.path) if self.config.path else None,
            "alerts_exported": self.alerts,
            "changes_missed": self.lagged_changes,
            "sinks": [asdict(r.status()) for r in self.runners],
        }

    def start(self) -> None:
        for runner in self.runners:
            runner.start()

    def stop(self) -> None:
        """Let each sink send what it holds (``STOP_SECONDS`` in all), then stop them (blocking: a thread)."""
        if self._stopped:
            return
        self._stopped = True
        deadline = time.monotonic() + STOP_SECONDS
        for runner in self.runners:
            runner.stop(max(0.1, deadline - time.monotonic()))


async def _listen_alerts(state: AppState, service: ExportService) -> None:
    """Export the alerts the dashboards are told about, with their run's project (looked up once per run)."""
    projects: dict[str, str] = {}

    def project_of(run_id: str) -> str:
        if run_id not in projects:
            with state.engines.reader.connect() as conn:
                run = get_run(conn, run_id=run_id)
            projects[run_id] = str((run or {}).get("project") or "")
        return projects[run_id]

    with state.broker.subscribe(topics.RUNS) as sub:
        while True:
            message = await sub.get()
            if sub.lagged:
                missed = len(sub.drain())
                log.warning("log export: fell behind the alert announcements; %d were not exported", missed)
                continue
            if not isinstance(message, dict) or message.get("type") != "alert":
                continue
            alert = message.get("alert") or {}
            run_id = str(alert.get("run_id") or "")
            project = await asyncio.to_thread(project_of, run_id) if run_id else ""
            service.offer([alert_record(str(message.get("event")), alert, project, time.time())])


async def _run(state: AppState, service: ExportService) -> None:
    try:
        if service.alerts:
            await _listen_alerts(state, service)
        else:
            await asyncio.Event().wait()
    finally:
        with contextlib.suppress(Exception):
            await asyncio.shield(asyncio.to_thread(service.stop))


def start(state: AppState) -> list[asyncio.Task[None]]:
    """Read ``settings.exporters``, register the subscriber, start the sinks; the task to cancel at shutdown
    (it stops the sinks after letting them send what they hold). Raises ``ConfigError`` for a bad file."""
    config = load_exporters(state.settings.exporters)
    if not config.sinks:
        return []
    runners = [SinkRunner(c, make_sink(c), endpoint_shown=shown_endpoint(c.endpoint)) for c in config.sinks]
    service = ExportService(config, runners, alerts=state.settings.workers <= 1)
    service.start()
    state.subscribers.add(service)
    state.extras[EXTRA_KEY] = service
    log.info("log export to %s", ", ".join(f"{c.name} ({c.type} {shown_endpoint(c.endpoint)})" for c in config.sinks))
    return [asyncio.get_running_loop().create_task(_run(state, service), name="export")]
