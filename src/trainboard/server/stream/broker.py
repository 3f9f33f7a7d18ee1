"""In-process publish/subscribe per topic: the live fan-out behind SSE and WebSockets.

Publishing never waits for a subscriber: each subscriber has a mailbox bounded in BYTES (and in
messages), and one that would go over its bound is marked ``lagged`` and receives nothing more. What
a lagged subscriber does is its stream's choice (the SSE stream and the dashboard WebSocket disconnect
the client with a reason and it resumes from its offset; the line WebSocket catches up from the
database). A slow client therefore costs at most its mailbox's bound in memory and never slows the
writer or the other clients. Messages are shared between subscribers, never copied.

This class is the seam where a Redis-backed fan-out plugs in for several server processes: the same
``publish``/``subscribe`` surface.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict, deque
from typing import Any

from trainboard.server.observability.metrics import SLOW_CLIENTS

#: Bytes one subscriber's mailbox may hold by default (a single larger message is still accepted into an
#: empty mailbox, so that it can be delivered at all).
DEFAULT_MAX_BYTES = 1024 * 1024
DEFAULT_MAX_ITEMS = 10_000


def message_size(message: Any) -> int:
    """About how many bytes ``message`` keeps alive: payload lengths plus a small per-object overhead
    (iterative, so that a deeply nested value cannot exhaust the stack)."""
    total = 0
    stack = [message]
    while stack:
        item = stack.pop()
        if isinstance(item, bytes | bytearray | str):
            total += len(item) + 40
        elif isinstance(item, dict):
            total += 64
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            total += 56
            stack.extend(item)
        else:
            total += 24
    return total


class Mailbox:
    """A subscriber's queue, bounded in bytes and in messages; several subscriptions may share one."""

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES, max_items: int = DEFAULT_MAX_ITEMS) -> None:
        self.max_bytes = max_bytes
        self.max_items = max_items
        self.queued_bytes = 0
        #: Set when a message did not fit: nothing more is queued until ``drain``.
        self.lagged = False
        self._items: deque[tuple[Any, int]] = deque()
        self._ready = asyncio.Event()

    def __len__(self) -> int:
        return len(self._items)

    def offer(self, message: Any, size: int) -> None:
        if self.lagged:
            return
        if self._items and (self.queued_bytes + size > self.max_bytes or len(self._items) >= self.max_items):
            SLOW_CLIENTS.inc()
            self.lagged = True
            self._ready.set()
            return
        self._items.append((message, size))
        self.queued_bytes += size
        self._ready.set()

    def interrupt(self) -> None:
        """Mark the mailbox ``lagged`` without counting a slow client: messages for it were lost elsewhere
        (the Redis fan-out was interrupted), so its stream treats it as behind and recovers its way."""
        self.lagged = True
        self._ready.set()

    async def get(self, timeout: float | None = None) -> Any:
        """The next message; raises ``TimeoutError`` after ``timeout`` seconds without one. ``None`` when
        the mailbox is empty and ``lagged`` (``interrupt``): every caller checks ``lagged`` first."""
        async with asyncio.timeout(timeout):
            while not self._items:
                if self.lagged:
                    return None
                self._ready.clear()
                await self._ready.wait()
        message, size = self._items.popleft()
        self.queued_bytes -= size
        return message

    def drain(self) -> list[Any]:
        """Everything queued now, without waiting; clears ``lagged``."""
        items = [m for m, _s in self._items]
        self._items.clear()
        self.queued_bytes = 0
        self.lagged = False
        return items


class Subscription:
    """One topic delivered into a mailbox."""

    def __init__(self, broker: Broker, topic: str, mailbox: Mailbox) -> None:
        self.broker = broker
        self.topic = topic
        self.mailbox = mailbox

    @property
    def lagged(self) -> bool:
        return self.mailbox.lagged

    def offer(self, message: Any, size: int) -> None:
        self.mailbox.offer(message, size)

    async def get(self, timeout: float | None = None) -> Any:
        """Next message; raises ``TimeoutError`` after ``timeout`` seconds without one."""
        return await self.mailbox.get(timeout)

    def drain(self) -> list[Any]:
        """Everything queued now, without waiting; clears ``lagged``."""
        return self.mailbox.drain()

    def close(self) -> None:
        self.broker._unsubscribe(self)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


class Broker:
    """Topic -> subscribers. ``publish`` must be called on the event loop's thread."""

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self._topics: dict[str, set[Subscription]] = defaultdict(set)

    def mailbox(self, max_items: int = DEFAULT_MAX_ITEMS) -> Mailbox:
        """A mailbox with this broker's byte bound, to merge several topics into one queue."""
        return Mailbox(self.max_bytes, max_items)

    def subscribe(self, topic: str, maxsize: int = DEFAULT_MAX_ITEMS, mailbox: Mailbox | None = None) -> Subscription:
        """Subscribe to ``topic`` (a new mailbox of at most ``maxsize`` messages, or the given one)."""
        sub = Subscription(self, topic, mailbox if mailbox is not None else self.mailbox(maxsize))
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
        size = message_size(message)
        for sub in list(subs):
            sub.offer(message, size)
        return len(subs)

    def subscriber_count(self) -> int:
        return sum(len(s) for s in self._topics.values())

    async def close(self) -> None:
        """Release what the broker holds (nothing in-process; the Redis broker's connection)."""
