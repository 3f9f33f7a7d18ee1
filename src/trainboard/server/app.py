"""``create_app(settings)``: the FastAPI application, its routers and its lifespan.

Nothing connects at import time: engines, the writer thread and the broker are made when the app
starts, from the injected settings, so tests build as many independent apps as they like.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable

from fastapi import FastAPI

from trainboard._version import __version__
from trainboard.server.alerts import service as alert_service
from trainboard.server.api import alerts as api_alerts
from trainboard.server.api import audit as api_audit
from trainboard.server.api import auth as api_auth
from trainboard.server.api import bookmarks as api_bookmarks
from trainboard.server.api import checkpoints, health, log_lines, logs, metrics, runs, system, terminal_sizes, ui, ws
from trainboard.server.api import client_events as api_client_events
from trainboard.server.api import docs as api_docs
from trainboard.server.api import errors as api_errors
from trainboard.server.api import export_status as api_export_status
from trainboard.server.api import launch as api_launch
from trainboard.server.api import log_search as api_log_search
from trainboard.server.api import log_time as api_log_time
from trainboard.server.api import plugins as api_plugins
from trainboard.server.api import projects as api_projects
from trainboard.server.api import prometheus as api_prometheus
from trainboard.server.api import ranks as api_ranks
from trainboard.server.api import responses as api_responses
from trainboard.server.api import rich as api_rich
from trainboard.server.api import run_groups as api_run_groups
from trainboard.server.api import tokens as api_tokens
from trainboard.server.api import users as api_users
from trainboard.server.export import service as export_service
from trainboard.server.http import middleware
from trainboard.server.ingest.subscribers import Subscriber, Subscribers, load_configured
from trainboard.server.lifecycle import background, gauges
from trainboard.server.providers import service as launch_service
from trainboard.server.settings import Settings
from trainboard.server.state import AppState
from trainboard.server.store.engine import make_engines, upgrade
from trainboard.server.store.writer import Writer
from trainboard.server.stream.broker import Broker
from trainboard.wire import MAX_BODY_BYTES

DESCRIPTION = f"""Self-hosted real-time dashboard for ML training runs.

Non-finite floats travel as the strings `"NaN"`, `"Infinity"`, `"-Infinity"` in both directions.
Request bodies are JSON (`application/json`, else 415) of at most {MAX_BODY_BYTES} bytes (else 413).
A POST, PUT, PATCH or DELETE must carry `Content-Type: application/json` or the header `X-Trainboard: 1`,
even without a body (else 403): a page on another site cannot send either without a CORS preflight.
Requests with a foreign `Origin` (or `Sec-Fetch-Site: cross-site`) are refused with 403, WebSocket
handshakes included. Streams (Server-Sent Events, WebSockets) are capped per client address (429) and in
total (503), both with `Retry-After`.
"""


def create_app(settings: Settings, *, subscribers: Iterable[Subscriber] | None = None) -> FastAPI:
    """Build the app for ``settings``; the database is migrated when the app starts.

    ``subscribers``: told about every committed change (``server.ingest.subscribers``), besides those
    installed plugins and ``TRAINBOARD_SUBSCRIBERS`` name (loaded when the app starts)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engines = make_engines(settings)
        await asyncio.to_thread(upgrade, engines.writer)
        writer = Writer(engines.writer)
        writer.start()
        broker: Broker
        if settings.redis_url:
            from trainboard.server.stream.redis_broker import RedisBroker

            broker = RedisBroker(settings.redis_url, max_bytes=settings.stream_buffer_bytes)
            await broker.start()
        else:
            broker = Broker(max_bytes=settings.stream_buffer_bytes)
        registry = Subscribers([*(subscribers or ()), *load_configured(plugins=settings.plugins)])
        registry.start()
        state = AppState(settings=settings, engines=engines, writer=writer, broker=broker, subscribers=registry)
        app.state.trainboard = state
        launch_jobs = await launch_service.start(state)  # the watcher runs with the other background jobs
        tasks = [
            *background.start(state, [*launch_jobs, *alert_service.start(state)]),
            asyncio.create_task(gauges.keep_fresh(state), name="gauges"),
            *export_service.start(state),
        ]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await asyncio.to_thread(writer.close)
            await registry.close()
            engines.dispose()
            await broker.close()

    app = FastAPI(
        title="trainboard",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served by api_docs from the package's own assets, not from a CDN
        redoc_url=None,
    )
    app.include_router(health.router)
    app.include_router(runs.router)
    app.include_router(api_client_events.router)
    app.include_router(api_run_groups.router)
    app.include_router(metrics.router)
    app.include_router(logs.router)
    app.include_router(terminal_sizes.router)
    app.include_router(api_log_time.router)
    app.include_router(log_lines.router)
    app.include_router(log_lines.lines_router)
    app.include_router(api_ranks.router)
    app.include_router(api_log_search.router)
    app.include_router(api_log_search.levels_router)
    app.include_router(checkpoints.router)
    app.include_router(api_rich.router)
    app.include_router(system.router)
    app.include_router(ws.router)
    app.include_router(api_auth.router)
    app.include_router(api_users.router)
    app.include_router(api_tokens.router)
    app.include_router(api_audit.router)
    app.include_router(api_launch.router)
    app.include_router(api_projects.router)
    app.include_router(api_prometheus.router)
    app.include_router(api_export_status.router)
    app.include_router(api_alerts.router)
    app.include_router(api_plugins.router)
    app.include_router(api_bookmarks.router)
    app.include_router(api_docs.make_router(title=app.title, openapi_url=app.openapi_url or "/openapi.json"))
    if settings.serve_ui:
        app.include_router(ui.make_router())
    middleware.install(app, settings)
    api_errors.install(app)
    api_responses.install(app)
    return app
