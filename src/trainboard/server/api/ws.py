"""Dashboard WebSocket ``/ws``: the messages below, published by ``stream.publish`` (see docs/architecture.md).

Client -> server: ``subscribe``/``unsubscribe`` ``{run_id}``, ``ping``. Server -> client: ``subscribed``,
``unsubscribed``, ``metric_update``, ``status_change``, ``checkpoint_saved``, ``event``, ``error``,
``pong``, and for every connection the run-list messages ``run_created``/``status_change``/``run_updated``/
``run_deleted``. A server ``heartbeat`` goes out after 30 s without a message, with the newest ``id``.
Malformed messages get ``error``; the socket stays open.
A client that falls more than its mailbox's byte bound behind is closed with code 1013 and a reason; it
reconnects, subscribes again and resumes.

Resume (``stream.feed``): the run-list messages ``run_created``, ``status_change``, ``run_updated`` and
``run_deleted`` carry an ``id`` (the event row they come from). A client that connects with
``/ws?after=ID`` first gets the run-list messages after ``ID`` from the database, in order, then the live
ones newer than those; or, when more than ``feed.REPLAY_LIMIT`` were missed or ``ID`` is unknown, one
``{"type": "reset", "id": N}`` (reload everything; resume from ``N`` next time). A bad ``after`` gets an
``error`` naming it and the socket stays open, live only. On PostgreSQL the replay also re-sends the
messages of a short window below ``ID`` (ids commit out of order; see ``stream.feed``): a client drops the
ids it already has.
"""

from __future__ import annotations

import asyncio
import json
from collections import OrderedDict
from typing import Any

from fastapi import APIRouter, WebSocket
from starlette.concurrency import run_in_threadpool

from trainboard.server.api.sockets import serve_socket
from trainboard.server.state import get_state
from trainboard.server.store import runs as runs_store
from trainboard.server.stream import feed, topics
from trainboard.server.stream.broker import Subscription
from trainboard.wire import ID_RE

router = APIRouter()

#: The JSON text of recent messages: one message goes to every dashboard watching the run (the broker
#: shares the object), so it is encoded once, not once per socket. Entries keep their message alive, so
#: an ``id`` is never reused while cached.
_TEXT_CACHE: OrderedDict[int, tuple[Any, str]] = OrderedDict()
_TEXT_CACHE_SIZE = 256


def _encoded(message: Any) -> str:
    key = id(message)
    hit = _TEXT_CACHE.get(key)
    if hit is not None and hit[0] is message:
        return hit[1]
    text = json.dumps(message, separators=(",", ":"))
    _TEXT_CACHE[key] = (message, text)
    if len(_TEXT_CACHE) > _TEXT_CACHE_SIZE:
        _TEXT_CACHE.popitem(last=False)
    return text


HEARTBEAT_SECONDS = 30.0
#: Close code for a client whose mailbox overflowed (1013: "try again later").
LAGGED_CLOSE_CODE = 1013


@router.websocket("/ws")
async def dashboard_socket(websocket: WebSocket) -> None:
    state = get_state(websocket)
    await websocket.accept()
    mailbox = state.broker.mailbox()
    subs: dict[str, Subscription] = {}
    global_sub = state.broker.subscribe(topics.RUNS, mailbox=mailbox)
    after_raw = websocket.query_params.get("after")
    after = int(after_raw) if after_raw is not None and after_raw.isdigit() and len(after_raw) <= 18 else None

    def replay(start: int) -> tuple[list[dict[str, Any]] | None, int]:
        with state.engines.reader.connect() as conn:
            return feed.replay(conn, after=start), feed.last_id(conn)

    def newest_id() -> int:
        with state.engines.reader.connect() as conn:
            return feed.last_id(conn)

    def run_exists(run_id: str) -> bool:
        with state.engines.reader.connect() as conn:
            return runs_store.get_run(conn, run_id=run_id) is not None

    replayed = asyncio.Event()  # answers wait for the replay: a ping's pong comes after it

    async def handle(raw: str) -> dict[str, Any] | None:
        await replayed.wait()
        try:
            msg = json.loads(raw)
        except ValueError:
            return {"type": "error", "message": "malformed message: not valid JSON"}
        if not isinstance(msg, dict) or not isinstance(msg.get("type"), str):
            return {"type": "error", "message": 'malformed message: expected an object with a "type"'}
        kind = msg["type"]
        if kind == "ping":
            return {"type": "pong"}
        if kind in ("subscribe", "unsubscribe"):
            run_id = msg.get("run_id")
            if not isinstance(run_id, str) or not ID_RE.match(run_id):
                return {"type": "error", "message": f'{kind} needs a "run_id": 1-64 characters of A-Z a-z 0-9 _ -'}
            if kind == "unsubscribe":
                sub = subs.pop(run_id, None)
                if sub:
                    sub.close()
                return {"type": "unsubscribed", "run_id": run_id}
            if not await run_in_threadpool(run_exists, run_id):
                return {"type": "error", "message": f"unknown run {run_id!r}", "run_id": run_id}
            if run_id not in subs:
                subs[run_id] = state.broker.subscribe(topics.run_events(run_id), mailbox=mailbox)
            return {"type": "subscribed", "run_id": run_id}
        return {"type": "error", "message": f"unknown message type {kind[:40]!r}"}

    async def pump() -> None:
        # the ids the replay sent: the same message arriving live is not sent twice (one committed late, with a
        # lower id than the replay's last, is: see stream.feed)
        sent: set[int] = set()
        try:
            if after_raw is not None and after is None:
                await websocket.send_json({"type": "error", "message": '"after" must be a non-negative integer id'})
            elif after is not None:
                missed, newest = await run_in_threadpool(replay, after)
                if missed is None:
                    await websocket.send_json({"type": "reset", "id": newest})
                else:
                    for message in missed:
                        await websocket.send_text(_encoded(message))
                        sent.add(message["id"])
        finally:
            replayed.set()
        while True:
            try:
                message = await mailbox.get(HEARTBEAT_SECONDS)
            except TimeoutError:  # idle: the newest id, where a client that has seen no run-list message resumes
                message = {"type": "heartbeat", "id": await run_in_threadpool(newest_id)}
            if mailbox.lagged:  # too far behind: release what it holds, say why, let it reconnect
                mailbox.drain()
                reason = f"client too slow: more than {mailbox.max_bytes} bytes waiting; reconnect with ?after=ID"
                await websocket.close(code=LAGGED_CLOSE_CODE, reason=reason)
                return
            if sent and isinstance(message, dict) and message.get("type") in feed.KINDS and message.get("id") in sent:
                continue
            await websocket.send_text(_encoded(message))

    try:
        await serve_socket(websocket, pump, handle)
    finally:
        global_sub.close()
        for sub in subs.values():
            sub.close()
