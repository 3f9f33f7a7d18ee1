"""The broker's mailboxes are bounded in bytes: a subscriber that does not read holds at most its bound."""

from __future__ import annotations

import asyncio

import pytest

from trainboard.server.stream.broker import Broker, Mailbox, message_size


def test_a_mailbox_stops_at_its_byte_bound_and_says_so() -> None:
    async def scenario() -> None:
        broker = Broker(max_bytes=100_000)
        sub = broker.subscribe("log:r")
        chunk = (0, "stdout", b"x" * 10_000)
        for _ in range(50):  # 500 kB published, nobody reading
            broker.publish("log:r", chunk)
        assert sub.lagged
        assert sub.mailbox.queued_bytes <= 100_000
        assert 1 <= len(sub.mailbox) < 10
        assert await sub.get(1) == chunk  # what was queued is still delivered
        sub.drain()
        assert not sub.lagged and sub.mailbox.queued_bytes == 0
        broker.publish("log:r", chunk)
        assert await sub.get(1) == chunk

    asyncio.run(scenario())


def test_one_message_larger_than_the_bound_still_goes_through_an_empty_mailbox() -> None:
    async def scenario() -> None:
        box = Mailbox(max_bytes=1000)
        box.offer("big", 50_000)
        assert not box.lagged and await box.get(1) == "big"
        box.offer("a", 600)
        box.offer("b", 600)
        assert box.lagged and await box.get(1) == "a"

    asyncio.run(scenario())


def test_a_shared_mailbox_counts_every_topic() -> None:
    async def scenario() -> None:
        broker = Broker(max_bytes=10_000)
        box = broker.mailbox()
        broker.subscribe("runs", mailbox=box)
        broker.subscribe("run:a", mailbox=box)
        for i in range(100):
            broker.publish("runs" if i % 2 else "run:a", {"type": "metric_update", "metrics": {"loss": "x" * 500}})
        assert box.lagged and box.queued_bytes <= 10_000

    asyncio.run(scenario())


def test_get_times_out() -> None:
    async def scenario() -> None:
        with pytest.raises(TimeoutError):
            await Mailbox().get(0.01)

    asyncio.run(scenario())


def test_message_size_counts_payloads_and_survives_deep_nesting() -> None:
    assert message_size(b"x" * 1000) >= 1000
    assert message_size({"k" * 100: ["v" * 200, 1.5]}) >= 300
    deep: object = "leaf"
    for _ in range(100_000):
        deep = [deep]
    assert message_size(deep) > 100_000
