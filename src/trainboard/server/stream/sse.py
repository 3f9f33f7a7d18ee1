"""Server-Sent Events for a run's raw log: history from the database, then live bytes from the broker.

Framing (CONTRACT.md): ``id: <byte offset just past this chunk>``, ``event: log``, ``data: <base64>``;
finally ``event: done`` with ``{"exit_code": n}``. Payloads are base64 and ids are made here, so log
bytes can never break the framing. The database is read only to catch a client up: on connect (from
its offset), after a gap, or after its bounded queue overflowed (a slow client lags alone; the writer
and other clients never wait for it).
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

from starlette.concurrency import run_in_threadpool

from trainboard.server.stream.broker import Broker

HEARTBEAT_SECONDS = 15.0
#: Bytes per history event at most while catching up.
CATCH_UP_BYTES = 256 * 1024


def log_event(end: int, data: bytes) -> bytes:
    return b"id: %d\nevent: log\ndata: %s\n\n" % (end, base64.b64encode(data))


def done_event(exit_code: int | None) -> bytes:
    return b"event: done\ndata: " + json.dumps({"exit_code": exit_code}).encode() + b"\n\n"


async def log_stream(
    *,
    broker: Broker,
    topic: str,
    offset: int,
    read: Callable[[int, int], bytes],
    finished: Callable[[], tuple[bool, int | None, int]],
) -> AsyncIterator[bytes]:
    """The event stream from ``offset``. ``read(offset, limit)`` reads stored bytes; ``finished()``
    returns (run ended, exit code, stored size). Both are blocking and run in the thread pool."""
    sub = broker.subscribe(topic, maxsize=512)
    sent = offset
    try:

        async def catch_up() -> AsyncIterator[bytes]:
            nonlocal sent
            while True:
                data = await run_in_threadpool(read, sent, CATCH_UP_BYTES)
                if not data:
                    return
                sent += len(data)
                yield log_event(sent, data)

        yield b"retry: 1000\n\n"
        async for event in catch_up():
            yield event
        ended, code, size = await run_in_threadpool(finished)
        if ended and sent >= size:
            yield done_event(code)
            return
        while True:
            try:
                message: Any = await sub.get(HEARTBEAT_SECONDS)
            except TimeoutError:
                yield b": keep-alive\n\n"
                continue
            if sub.lagged:
                sub.drain()
                async for event in catch_up():
                    yield event
                continue
            if message[0] == "done":
                async for event in catch_up():
                    yield event
                yield done_event(message[1])
                return
            end, _source, data = message
            start = end - len(data)
            if end <= sent:
                continue
            if start > sent:  # a gap (e.g. bytes stored before we subscribed): read it
                async for event in catch_up():
                    yield event
                continue
            yield log_event(end, data[sent - start :])
            sent = end
    finally:
        sub.close()
