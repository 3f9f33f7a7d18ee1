"""A broker whose messages travel through Redis pub/sub, for several server processes behind one
address: a write handled by one process reaches the live streams held by every process.

Every message is published to Redis (never delivered locally first), and each process delivers what
it receives from its pattern subscription to its own subscribers — one path, one order for everyone.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
from typing import Any

import redis.asyncio as aioredis

from trainboard.server.stream.broker import DEFAULT_MAX_BYTES, Broker

log = logging.getLogger(__name__)

PREFIX = "trainboard:"


def _encode(value: Any) -> Any:
    if isinstance(value, bytes):
        return {"__b": base64.b64encode(value).decode()}
    if isinstance(value, tuple):
        return {"__t": [_encode(v) for v in value]}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if "__b" in value and len(value) == 1:
            return base64.b64decode(value["__b"])
        if "__t" in value and len(value) == 1:
            return tuple(_decode(v) for v in value["__t"])
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def dumps(message: Any) -> str:
    return json.dumps(_encode(message), separators=(",", ":"))


def loads(raw: str | bytes) -> Any:
    return _decode(json.loads(raw))


class RedisBroker(Broker):
    """Same surface as ``Broker``; ``start()`` connects and begins relaying, ``close()`` stops."""

    def __init__(self, url: str, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        super().__init__(max_bytes)
        self.url = url
        self._redis: aioredis.Redis | None = None
        self._relay: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    async def start(self) -> None:
        self._redis = aioredis.from_url(self.url)
        await self._redis.ping()  # fail at start, with a clear error, when Redis is not there
        self._relay = asyncio.create_task(self._run_relay(), name="redis-relay")
        await asyncio.wait_for(self._ready.wait(), 10)

    async def _run_relay(self) -> None:
        assert self._redis is not None
        while True:
            try:
                pubsub = self._redis.pubsub()
                await pubsub.psubscribe(PREFIX + "*")
                self._ready.set()
                async for item in pubsub.listen():
                    if item.get("type") != "pmessage":
                        continue
                    topic = item["channel"].decode()[len(PREFIX) :]
                    try:
                        Broker.publish(self, topic, loads(item["data"]))
                    except ValueError:
                        log.warning("dropping a malformed message on %s", topic)
            except asyncio.CancelledError:
                raise
            except Exception:  # connection lost: resubscribe after a pause
                log.exception("redis relay failed; reconnecting")
                await asyncio.sleep(1.0)

    def has_subscribers(self, topic: str) -> bool:
        return True  # subscribers may live in another process

    def publish(self, topic: str, message: Any) -> int:
        if self._redis is None:
            return Broker.publish(self, topic, message)
        task = asyncio.get_running_loop().create_task(self._send(PREFIX + topic, dumps(message)))
        task.add_done_callback(_report)
        return 1

    async def _send(self, channel: str, data: str) -> None:
        assert self._redis is not None
        await self._redis.publish(channel, data)

    async def close(self) -> None:
        if self._relay is not None:
            self._relay.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._relay
        if self._redis is not None:
            await self._redis.aclose()


def _report(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("redis publish failed: %s", task.exception())
