"""The catch-up helper shared by the SSE byte stream and the line WebSocket: it reads what a subscriber
missed from the store, page by page from its cursor, and releases a mailbox that overflows meanwhile."""

from __future__ import annotations

import asyncio

from trainboard.server.stream.broker import Broker
from trainboard.server.stream.catch_up import CatchUp

PAGE = 1000


def test_pages_cover_the_store_from_the_cursor_once_each() -> None:
    stored = bytes(range(256)) * 40  # 10,240 bytes

    async def scenario() -> None:
        sub = Broker().subscribe("log:r")
        follow = CatchUp(sub, 300, lambda at: stored[at : at + PAGE], lambda at, page: at + len(page))
        pages = [page async for page in follow.pages()]
        assert b"".join(pages) == stored[300:]
        assert all(len(p) <= PAGE for p in pages)
        assert follow.cursor == len(stored)
        assert [page async for page in follow.pages()] == []  # nothing newer: nothing more

    asyncio.run(scenario())


def test_a_subscriber_that_overflows_while_it_is_caught_up_is_drained_and_reads_on() -> None:
    """Writes keep coming (and are published) while the client is caught up; its mailbox overflows. The
    helper releases it, says messages were missed, and the pages still end with the last stored byte."""
    stored = bytearray(b"a" * 5000)

    async def scenario() -> None:
        broker = Broker(max_bytes=10_000)
        sub = broker.subscribe("log:r")

        def read(at: int) -> bytes:
            if len(stored) < 20_000:  # a writer appends and publishes while we read (after its commit)
                chunk = b"b" * 3000
                stored.extend(chunk)
                asyncio.run_coroutine_threadsafe(_publish(broker, len(stored), chunk), loop).result()
            return bytes(stored[at : at + PAGE])

        loop = asyncio.get_running_loop()
        follow = CatchUp(sub, 0, read, lambda at, page: at + len(page))
        follow.missed = False
        received = b"".join([page async for page in follow.pages()])
        assert received == bytes(stored)  # no gap, no byte twice
        assert follow.missed  # the caller re-checks what is not stored (the run's end, open lines)
        assert not sub.lagged and sub.mailbox.queued_bytes < 10_000  # released: the stream goes on live

    asyncio.run(scenario())


async def _publish(broker: Broker, end: int, data: bytes) -> None:
    broker.publish("log:r", (end, "stdout", data))


def test_a_line_cursor_moves_to_the_last_line_sent() -> None:
    stored = [{"line_number": n, "text": f"line {n}"} for n in range(4500)]

    def read(after: int) -> list[dict[str, object]]:
        return stored[after + 1 : after + 1 + 2000]

    async def scenario() -> None:
        sub = Broker().subscribe("lines:r")
        follow = CatchUp(sub, 99, read, lambda _at, page: int(str(page[-1]["line_number"])))
        numbers = [line["line_number"] async for page in follow.pages() for line in page]
        assert numbers == list(range(100, 4500))
        assert follow.cursor == 4499

    asyncio.run(scenario())
