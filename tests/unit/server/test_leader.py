"""The leader lock's connection is never left to the garbage collector with the lock held."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

from trainboard.server.lifecycle.leader import _acquire


class FakeConnection:
    def __init__(self) -> None:
        self.closed = threading.Event()

    def close(self) -> None:
        self.closed.set()


def test_a_lock_acquired_after_the_server_stopped_waiting_is_closed() -> None:
    """The server stops (its leader task cancelled) while a thread is still connecting: the connection that thread
    then gets, lock and all, is closed when it arrives."""
    conn = FakeConnection()

    def slow_acquire() -> Any:
        time.sleep(0.3)
        return conn

    async def main() -> None:
        task = asyncio.ensure_future(_acquire(slow_acquire))
        await asyncio.sleep(0.05)
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass
        await asyncio.sleep(0.6)  # the thread's result arrives, and is closed

    asyncio.run(main())
    assert conn.closed.wait(2.0)


def test_an_acquired_lock_is_handed_over() -> None:
    conn: Any = FakeConnection()
    got: Any = asyncio.run(_acquire(lambda: conn))
    assert got is conn and not conn.closed.is_set()
