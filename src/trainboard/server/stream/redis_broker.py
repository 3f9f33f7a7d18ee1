"""A broker whose messages travel through Redis pub/sub, for several server processes behind one
address: a write handled by one process reaches the live streams held by every process.

While Redis is up, every message is published to Redis (never delivered locally first), in order, by one
sender task, and each process delivers what its pattern subscription receives to its own subscribers —
one path, one order for everyone.

Redis is never the source of truth (the database is), so losing it costs liveness, never data:

- Ingest never waits for Redis: ``publish`` only queues. A failed send (or a failed health ping, checked
  every ``poll_interval`` seconds) marks the broker **degraded**: from then on messages are delivered to
  this process's own subscribers directly, and every ``poll_interval`` seconds the raw-log and line
  streams are told to catch up from the database (``stream.poll.POLL``); dashboards are closed with their
  "lagged" code (they reconnect and resume from their last id, ``stream.feed``) when the outage starts,
  every ``reload_interval`` seconds while it lasts, and when it ends.
- The relay resubscribes every ``retry`` seconds; once subscribed again (its ``psubscribe`` confirmed,
  also after redis-py's own silent reconnects) the broker is healthy, and keeps telling streams to catch
  up for ``settle`` seconds more, since other processes may still be degraded and delivering locally.
- A server that starts while Redis is down starts degraded (one warning) and recovers the same way.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, cast

import redis.asyncio as aioredis

from trainboard.server.stream import topics
from trainboard.server.stream.broker import DEFAULT_MAX_BYTES, Broker
from trainboard.server.stream.poll import POLL

log = logging.getLogger(__name__)

PREFIX = "trainboard:"
#: Messages sent to Redis in one pipeline at most.
_SEND_BATCH = 512
#: Seconds closing may wait for Redis (the relay's unsubscribe, the pool) before it lets go: a server must stop
#: even when Redis stopped answering mid-shutdown (a worker once hung there for good).
CLOSE_TIMEOUT = 5.0


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


def _polled(topic: str) -> bool:
    """Streams with a cursor into the database (catch up in place) vs dashboards (reconnect and resume)."""
    return topic.startswith((topics.run_log(""), topics.run_lines("")))


class RedisBroker(Broker):
    """Same surface as ``Broker``; ``start()`` connects and begins relaying, ``close()`` stops."""

    def __init__(
        self,
        url: str,
        max_bytes: int = DEFAULT_MAX_BYTES,
        *,
        poll_interval: float = 1.0,
        reload_interval: float = 15.0,
        retry: float = 1.0,
        settle: float = 5.0,
    ) -> None:
        super().__init__(max_bytes)
        self.url = url
        self.poll_interval = poll_interval
        self.reload_interval = reload_interval
        self.retry = retry
        self.settle = settle
        #: Whether messages reach the other processes (read by ``/metrics``: ``trainboard_redis_up``).
        self.healthy = False
        self._redis: aioredis.Redis | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._relay: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self._outbox: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self._poll_until = 0.0
        self._last_reload = 0.0

    async def start(self) -> None:
        self._redis = aioredis.from_url(self.url, socket_connect_timeout=2.0, socket_timeout=5.0)
        self._relay = asyncio.create_task(self._run_relay(), name="redis-relay")
        self._tasks = [
            asyncio.create_task(self._run_sender(), name="redis-sender"),
            asyncio.create_task(self._run_watch(), name="redis-watch"),
        ]
        try:
            await asyncio.wait_for(self._ready.wait(), 5.0)
        except TimeoutError:
            log.warning(
                "Redis at %s is not reachable: live streams catch up from the database until it is", self._safe_url
            )
            self._degrade()

    @property
    def _safe_url(self) -> str:
        _head, sep, tail = self.url.rpartition("@")
        return ("redis://***@" + tail) if sep else self.url

    # ---- health -------------------------------------------------------------------------------

    def _degrade(self, *, resubscribe: bool = True) -> None:
        """Redis failed somewhere. Unless the relay itself noticed (it then resubscribes on its own), its
        subscription is restarted too: only a confirmed (re)subscription makes the broker healthy again,
        since a connection that was in doubt may have dropped messages."""
        was_healthy = self.healthy
        if was_healthy:
            log.warning("Redis connection lost: live streams catch up from the database until it is back")
        self.healthy = False
        self._poll_until = float("inf")
        self._poke(reload=True)
        if resubscribe and was_healthy and self._relay is not None:
            self._relay.cancel()
            self._relay = asyncio.create_task(self._run_relay(), name="redis-relay")

    def _recover(self) -> None:
        if not self.healthy:
            self.healthy = True
            if self._ready.is_set() or self._poll_until:  # back after an outage (not the first connection)
                log.warning("Redis is back: live fan-out between processes resumed")
                # other processes may still deliver locally for a moment: keep catching up a little longer
                self._poll_until = time.monotonic() + self.settle
                self._poke(reload=True)
        self._ready.set()

    def _poke(self, *, reload: bool) -> None:
        """Tell the local streams that messages may have been missed (see the module docstring)."""
        if reload:
            self._last_reload = time.monotonic()
        for topic, subs in list(self._topics.items()):
            for sub in list(subs):
                if _polled(topic):
                    sub.offer(POLL, 0)
                elif reload:
                    sub.mailbox.interrupt()

    async def _run_watch(self) -> None:
        """Ping Redis while healthy; poke the local streams while degraded (and settling)."""
        assert self._redis is not None
        while True:
            await asyncio.sleep(self.poll_interval)
            if self.healthy:
                try:
                    await asyncio.wait_for(self._redis.ping(), max(1.0, self.poll_interval))
                except Exception:
                    self._degrade()
            if time.monotonic() < self._poll_until:
                self._poke(reload=not self.healthy and time.monotonic() - self._last_reload >= self.reload_interval)

    # ---- receiving ----------------------------------------------------------------------------

    async def _run_relay(self) -> None:
        assert self._redis is not None
        while True:
            pubsub = self._redis.pubsub()
            try:
                await pubsub.psubscribe(PREFIX + "*")
                async for item in pubsub.listen():
                    kind = item.get("type")
                    if kind == "psubscribe":  # (re)subscribed: from now on nothing is missed
                        self._recover()
                        continue
                    if kind != "pmessage":
                        continue
                    topic = item["channel"].decode()[len(PREFIX) :]
                    try:
                        Broker.publish(self, topic, loads(item["data"]))
                    except ValueError:
                        log.warning("dropping a malformed message on %s", topic)
                raise ConnectionError("the subscription ended")
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # connection lost: degrade, resubscribe after a pause
                log.debug("redis relay: %s", exc)
                self._degrade(resubscribe=False)
                await asyncio.sleep(self.retry)
            finally:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(_aclose(pubsub)(), CLOSE_TIMEOUT)

    # ---- sending ------------------------------------------------------------------------------

    def has_subscribers(self, topic: str) -> bool:
        return True  # subscribers may live in another process

    def publish(self, topic: str, message: Any) -> int:
        if self._redis is None or not self.healthy:
            Broker.publish(self, topic, message)  # degraded: this process's own streams stay live
            return 1
        self._outbox.put_nowait((topic, message))
        return 1

    async def _run_sender(self) -> None:
        """Send queued messages in order, a pipeline at a time; on failure deliver them locally and degrade."""
        assert self._redis is not None
        while True:
            batch = [await self._outbox.get()]
            while len(batch) < _SEND_BATCH and not self._outbox.empty():
                batch.append(self._outbox.get_nowait())
            if not self.healthy:
                for topic, message in batch:
                    Broker.publish(self, topic, message)
                continue
            try:
                async with self._redis.pipeline(transaction=False) as pipe:
                    for topic, message in batch:
                        pipe.publish(PREFIX + topic, dumps(message))
                    await pipe.execute()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.debug("redis publish failed: %s", exc)
                self._degrade()
                for topic, message in batch:
                    Broker.publish(self, topic, message)

    async def close(self) -> None:
        tasks = [*self._tasks, *([self._relay] if self._relay is not None else [])]
        for task in tasks:
            task.cancel()
        if tasks:
            done, _ = await asyncio.wait(tasks, timeout=CLOSE_TIMEOUT)  # each may clean up, none may hold the stop
            for task in done:
                if not task.cancelled():
                    task.exception()  # retrieved (a failing task is not news at shutdown)
        if self._redis is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._redis.aclose(), CLOSE_TIMEOUT)


def _aclose(pubsub: Any) -> Callable[[], Awaitable[None]]:
    """``PubSub.aclose``, typed here: redis-py's own annotation of it changed between releases (untyped, then typed)."""
    return cast("Callable[[], Awaitable[None]]", pubsub.aclose)
