"""What routers (and background tasks) tell live subscribers after a write has committed, plus the
receive/send loop shared by the WebSocket endpoints."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from fastapi import WebSocket, WebSocketDisconnect
from starlette.websockets import WebSocketState

from trainboard.server.api.schemas import RunPublic
from trainboard.server.state import AppState
from trainboard.server.store.log_lines import LineRow, public
from trainboard.server.stream import topics


def publish_lines(state: AppState, run_id: str, lines: list[LineRow]) -> None:
    """Offer newly indexed lines to the run's line WebSocket subscribers."""
    topic = topics.run_lines(run_id)
    if lines and state.broker.has_subscribers(topic):
        state.broker.publish(topic, [public(r) for r in lines])


def publish_open_lines(state: AppState, run_id: str, lines: list[LineRow]) -> None:
    """Offer the run's open (provisional) lines, all of them, to its line WebSocket subscribers."""
    topic = topics.run_lines(run_id)
    if state.broker.has_subscribers(topic):
        state.broker.publish(topic, {"type": "open", "lines": [public(r, provisional=True) for r in lines]})


def publish_status(state: AppState, old: dict[str, Any], new: dict[str, Any]) -> None:
    """Tell dashboards about a status change (no-op when the status did not change); a run that ended
    also ends its log streams (``done``)."""
    if old["status"] == new["status"]:
        return
    message = {
        "type": "status_change",
        "run_id": new["id"],
        "old_status": old["status"],
        "new_status": new["status"],
        "exit_code": new["exit_code"],
        "run": RunPublic.from_row(new).model_dump(),
    }
    state.broker.publish(topics.RUNS, message)  # every dashboard socket gets run-list changes
    if new["status"] != "running":
        state.broker.publish(topics.run_log(new["id"]), ("done", new["exit_code"]))


async def serve_socket(
    websocket: WebSocket,
    pump: Callable[[], Coroutine[Any, Any, None]],
    handle: Callable[[str], Awaitable[dict[str, Any] | None]],
) -> None:
    """Run ``pump`` (server -> client) while answering each client message with ``handle``'s reply,
    until the client goes; then stop the pump. The caller releases its subscriptions afterwards."""
    sender = asyncio.create_task(pump())
    try:
        while websocket.application_state == WebSocketState.CONNECTED:  # the pump may close it (lagged)
            reply = await handle(await websocket.receive_text())
            if reply is not None and websocket.application_state == WebSocketState.CONNECTED:
                await websocket.send_json(reply)
    except WebSocketDisconnect:
        pass
    finally:
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await sender
