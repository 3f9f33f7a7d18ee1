"""What the app holds while it runs: engines, the writer, the broker. Built by ``create_app``'s lifespan."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends
from starlette.requests import HTTPConnection

from trainboard.server.ingest.path import WritePath
from trainboard.server.ingest.subscribers import Subscribers
from trainboard.server.settings import Settings
from trainboard.server.store.engine import Engines
from trainboard.server.store.writer import Writer
from trainboard.server.stream.broker import Broker


@dataclass
class AppState:
    settings: Settings
    engines: Engines
    writer: Writer
    broker: Broker
    #: Told about every committed change (``server.ingest``); registered when the app starts.
    subscribers: Subscribers = field(default_factory=Subscribers)
    #: Per-process helpers keyed by name (the host sampler's collector, the login limiter).
    extras: dict[str, Any] = field(default_factory=dict)
    #: The write path (``server.ingest``): every write that others are told about goes through it; it owns
    #: the log indexer.
    ingest: WritePath = field(init=False)

    def __post_init__(self) -> None:
        self.ingest = WritePath(self.writer, self.broker, self.subscribers)


def get_state(conn: HTTPConnection) -> AppState:
    """FastAPI dependency: the running app's state (works for HTTP and WebSocket routes)."""
    state: AppState = conn.app.state.trainboard
    return state


#: Route parameter type: ``state: State``.
State = Annotated[AppState, Depends(get_state)]
