"""The receive/send loop shared by the WebSocket endpoints (the dashboard socket and the line socket)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from fastapi import WebSocket, WebSocketDisconnect
from starlette.websockets import WebSocketState


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
