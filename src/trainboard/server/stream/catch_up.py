"""Catching a live client up from the database: the one helper behind the SSE byte stream and the line
WebSocket.

A live stream holds a subscription and a cursor (the byte offset, the last line number sent). When the
client starts from an older cursor, when a message shows a gap, or when its mailbox overflowed (``lagged``:
the broker dropped messages for it), the stream reads what it missed from the database, page by page in the
thread pool, from its cursor on, until the store has nothing newer; then it continues live. Nothing is
lost or sent twice because

- publishing follows the commit (``stream.publish``), so every message a subscriber was offered, or had
  dropped, is already readable when the stream reads after it;
- the cursor moves only past what was sent, and live messages at or before the cursor are skipped by the
  stream (its own rule: a byte range, a line number).

A subscription that lags while it is being caught up is drained at once (what it dropped is in the
store, and this read goes on to the end), and ``missed`` is set: messages that are not stored (the end of
a run, the open lines) may have been dropped with them, and the stream asks the database for those.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sized
from typing import Generic, TypeVar

from starlette.concurrency import run_in_threadpool

from trainboard.server.stream.broker import Subscription

P = TypeVar("P", bound=Sized)


class CatchUp(Generic[P]):
    """``sub`` with a ``cursor`` into the store. ``read(cursor)`` (blocking: it runs in the thread pool)
    returns the next page stored after ``cursor``, empty when there is none; ``advance(cursor, page)`` is
    the cursor just past that page."""

    def __init__(
        self, sub: Subscription, cursor: int, read: Callable[[int], P], advance: Callable[[int, P], int]
    ) -> None:
        self.sub = sub
        self.cursor = cursor
        #: Live messages may have been dropped since the caller last cleared this (set at start: the
        #: stream has not seen any message yet).
        self.missed = True
        self._read = read
        self._advance = advance

    async def pages(self) -> AsyncIterator[P]:
        """The stored pages after the cursor, until the store has nothing newer; the caller sends each
        page before asking for the next (the cursor has moved past it already)."""
        while True:
            page = await run_in_threadpool(self._read, self.cursor)
            if not len(page):
                return
            self.cursor = self._advance(self.cursor, page)
            if self.sub.lagged:  # what it dropped is stored (publishing follows the commit): read on
                self.sub.drain()
                self.missed = True
            yield page
