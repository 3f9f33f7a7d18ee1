"""In-process publish/subscribe per topic: the live fan-out behind SSE and WebSockets.

Publishing never waits for a subscriber: each subscriber has a bounded queue, and one that is full is
marked ``lagged`` and receives nothing more until it catches up from the database (SSE) or is told
where to resume (WebSocket). A slow client therefore costs memory only up to its queue's bound and
never slows the writer or the other clients. This class is the seam where a Redis-backed fan-out
plugs in for several server processes: the same ``publish``/``subscribe`` surface.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any


class Subscription:
    """One subscriber's bounded queue on one topic."""

    def __init__(self, broker: Broker, topic: str, maxsize: int, queue: asyncio.Queue[Any] | None = None) -> None:
        self.broker = broker
        self.topic = topic
        self.queue: asyncio.Queue[Any] = queue if queue is not None else asyncio.Queue(maxsize)
        self.lagged = False

    def offer(self, message: Any) -> None:
        if self.lagged:
            return
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            self.lagged = True

    async def get(self, timeout: float | None = None) -> Any:
        """Next message; raises ``TimeoutError`` after ``timeout`` seconds without one."""
        return await asyncio.wait_for(self.queue.get(), timeout)

    def drain(self) -> list[Any]:
        """Everything queued now, without waiting; clears ``lagged``."""
        items = []
        while True:
            try:
                items.append(self.queue.get_nowait())
            except asyncio.QueueEmpty:
                break
        self.lagged = False
        return items

    def close(self) -> None:
        self.broker._unsubscribe(self)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


class Broker:
    """Topic -> subscribers. ``publish`` must be called on the event loop's thread."""

    def __init__(self) -> None:
        self._topics: dict[str, set[Subscription]] = defaultdict(set)

    def subscribe(self, topic: str, maxsize: int = 1024, queue: asyncio.Queue[Any] | None = None) -> Subscription:
        """Subscribe to ``topic``; pass ``queue`` to merge several topics into one queue."""
        sub = Subscription(self, topic, maxsize, queue)
        self._topics[topic].add(sub)
        return sub

    def _unsubscribe(self, sub: Subscription) -> None:
        subs = self._topics.get(sub.topic)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self._topics[sub.topic]

    def has_subscribers(self, topic: str) -> bool:
        return bool(self._topics.get(topic))

    def publish(self, topic: str, message: Any) -> int:
        """Offer ``message`` to every subscriber of ``topic``; returns how many there are."""
        subs = self._topics.get(topic)
        if not subs:
            return 0
        for sub in list(subs):
            sub.offer(message)
        return len(subs)

    def subscriber_count(self) -> int:
        return sum(len(s) for s in self._topics.values())

    async def close(self) -> None:
        """Release what the broker holds (nothing in-process; the Redis broker's connection)."""
