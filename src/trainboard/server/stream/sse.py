"""Server-Sent Events for a run's raw log: history from the database, then live bytes from the broker.

Framing (documented in docs/architecture.md and the README's "The server"): ``id: <byte offset just
past this chunk>``, ``event: log``, ``data: <base64>``; finally ``event: done`` with ``{"exit_code": n}``,
or ``event: lagged`` with ``{"reason", "resume_from"}`` when the client fell further behind than its
mailbox's byte bound (it reconnects from that offset).
Payloads are base64 and ids are made here, so log bytes can never break the framing. The database is
read only to catch a client up (``stream.catch_up``): on connect (from its offset) or after a gap (a slow
client lags alone; the writer and other clients never wait for it).
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

from starlette.concurrency import run_in_threadpool

from trainboard.server.stream.broker import Broker
from trainboard.server.stream.catch_up import CatchUp
from trainboard.server.stream.poll import POLL

HEARTBEAT_SECONDS = 15.0
#: Bytes per history event at most while catching up.
CATCH_UP_BYTES = 256 * 1024


def log_event(end: int, data: bytes) -> bytes:
    return b"id: %d\nevent: log\ndata: %s\n\n" % (end, base64.b64encode(data))


def done_event(exit_code: int | None) -> bytes:
    return b"event: done\ndata: " + json.dumps({"exit_code": exit_code}).encode() + b"\n\n"


def lagged_event(resume_from: int, max_bytes: int) -> bytes:
    """The last event to a client that fell more than its mailbox's bound behind: it reconnects with
    ``Last-Event-ID`` (or ``?offset=``) = ``resume_from`` and gets exactly the bytes it missed."""
    reason = f"client too slow: more than {max_bytes} bytes waiting for it; reconnect from the offset"
    return b"event: lagged\ndata: " + json.dumps({"reason": reason, "resume_from": resume_from}).encode() + b"\n\n"


async def log_stream(
    *,
    broker: Broker,
    topic: str,
    offset: int,
    read: Callable[[int, int], bytes],
    finished: Callable[[], tuple[bool, int | None, int]],
    pick: Callable[[Any], Any] | None = None,
) -> AsyncIterator[bytes]:
    """The event stream from ``offset``. ``read(offset, limit)`` reads stored bytes; ``finished()``
    returns (run ended, exit code, stored size). Both are blocking and run in the thread pool. ``pick``
    maps each live message to the ``(end, source, data)`` / ``("done", code)`` shape, or None to skip it
    (a rank's stream keeps its rank's chunks of the run's rank topic)."""
    sub = broker.subscribe(topic)
    # ``missed`` starts set: live messages may have been missed, so ask the database whether the run ended
    store = CatchUp(sub, offset, lambda at: read(at, CATCH_UP_BYTES), lambda at, data: at + len(data))
    try:

        async def catch_up() -> AsyncIterator[bytes]:
            async for data in store.pages():
                yield log_event(store.cursor, data)

        yield b"retry: 1000\n\n"
        async for event in catch_up():
            yield event
        while True:
            if store.missed:
                store.missed = False
                ended, code, _size = await run_in_threadpool(finished)
                if ended:
                    async for event in catch_up():
                        yield event
                    yield done_event(code)
                    return
            try:
                message: Any = await sub.get(HEARTBEAT_SECONDS)
            except TimeoutError:
                yield b": keep-alive\n\n"
                continue
            if sub.lagged:
                sub.drain()  # release what it holds now, then say why the stream ends
                yield lagged_event(store.cursor, sub.mailbox.max_bytes)
                return
            if message is POLL:  # live messages may have been lost (Redis down): read what is stored
                store.missed = True
                async for event in catch_up():
                    yield event
                continue
            if pick is not None and (message := pick(message)) is None:
                continue
            if message[0] == "done":
                async for event in catch_up():
                    yield event
                yield done_event(message[1])
                return
            end, _source, data = message
            start = end - len(data)
            if end <= store.cursor:
                continue
            if start > store.cursor:  # a gap (e.g. bytes stored before we subscribed): read it
                async for event in catch_up():
                    yield event
                continue
            yield log_event(end, data[store.cursor - start :])
            store.cursor = end
    finally:
        sub.close()
