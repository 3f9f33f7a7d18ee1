"""The subscriber registry: order, isolation of a failing or slow subscriber, overflow said and counted."""

from __future__ import annotations

import asyncio
import logging
import threading

import pytest

from trainboard.server.ingest.subscribers import (
    Change,
    MetricBatch,
    StatusChange,
    SubscriberLagged,
    Subscribers,
    load_configured,
    subscriber,
)
from trainboard.server.observability.metrics import SUBSCRIBER_DROPPED, SUBSCRIBER_ERRORS


def batch(run_id: str, step: int) -> MetricBatch:
    return MetricBatch(
        run_id=run_id, project="p", committed_at=0.0, stream=None, rows=((step, 1.0, {"loss": step / 10}),)
    )


def test_every_change_reaches_every_subscriber_in_order() -> None:
    seen_sync: list[Change] = []
    seen_async: list[Change] = []

    async def slow(change: Change) -> None:
        await asyncio.sleep(0)
        seen_async.append(change)

    async def scenario() -> None:
        subs = Subscribers([subscriber("sync", seen_sync.append), subscriber("async", slow)])
        subs.start()
        sent = [batch("a", i) for i in range(50)]
        for i in range(0, 50, 5):
            subs.deliver(sent[i : i + 5])
        await subs.close()
        assert seen_sync == sent
        assert seen_async == sent

    asyncio.run(scenario())


def test_a_subscriber_that_raises_is_logged_and_the_others_still_get_the_change(
    caplog: pytest.LogCaptureFixture,
) -> None:
    good: list[Change] = []

    def bad(change: Change) -> None:
        raise RuntimeError("boom")

    before = SUBSCRIBER_ERRORS.labels("bad")._value.get()

    async def scenario() -> None:
        subs = Subscribers([subscriber("bad", bad), subscriber("good", good.append)])
        subs.start()
        subs.deliver([batch("r1", 1), batch("r1", 2)])
        await subs.close()

    with caplog.at_level(logging.ERROR):
        asyncio.run(scenario())
    assert [c.steps[0][0] for c in good if isinstance(c, MetricBatch)] == [1, 2]
    failures = [r for r in caplog.records if "'bad' failed on MetricBatch of run r1" in r.getMessage()]
    assert len(failures) == 2
    assert SUBSCRIBER_ERRORS.labels("bad")._value.get() - before == 2


def test_a_slow_subscriber_overflows_alone_and_is_told_what_it_missed(caplog: pytest.LogCaptureFixture) -> None:
    fast: list[Change] = []
    slow_seen: list[Change] = []
    gate = asyncio.Event()

    async def slow(change: Change) -> None:
        await gate.wait()
        slow_seen.append(change)

    before = SUBSCRIBER_DROPPED.labels("slow")._value.get()

    async def scenario() -> None:
        subs = Subscribers([subscriber("fast", fast.append)], max_queue=100)
        subs.add(subscriber("slow", slow), max_queue=3)
        subs.start()
        subs.deliver([batch("r", i) for i in range(10)])  # slow takes 1 at once, queues 3, drops 6
        await asyncio.sleep(0.01)
        gate.set()
        await asyncio.sleep(0.01)
        subs.deliver([batch("r", 10)])
        await subs.close()

    with caplog.at_level(logging.WARNING):
        asyncio.run(scenario())
    assert [c.steps[0][0] for c in fast if isinstance(c, MetricBatch)] == list(range(11))
    lagged = [c for c in slow_seen if isinstance(c, SubscriberLagged)]
    assert len(lagged) == 1 and lagged[0].dropped > 0
    got = [c.steps[0][0] for c in slow_seen if isinstance(c, MetricBatch)]
    assert got[-1] == 10 and len(got) + lagged[0].dropped == 11
    assert SUBSCRIBER_DROPPED.labels("slow")._value.get() - before == lagged[0].dropped
    assert any("'slow' is 3 changes behind" in r.getMessage() for r in caplog.records)


def test_deliver_threadsafe_keeps_the_order_it_was_called_in() -> None:
    seen: list[Change] = []

    async def scenario() -> None:
        subs = Subscribers([subscriber("rec", seen.append)])
        subs.start()

        def writer_thread() -> None:
            for i in range(100):
                subs.deliver_threadsafe(
                    [
                        StatusChange(
                            run_id="r",
                            project="",
                            committed_at=float(i),
                            old_status="running",
                            new_status="running",
                            exit_code=None,
                            reason=None,
                            origin="test",
                        )
                    ]
                )

        t = threading.Thread(target=writer_thread)
        t.start()
        await asyncio.to_thread(t.join)
        await asyncio.sleep(0.05)
        await subs.close()

    asyncio.run(scenario())
    assert [c.committed_at for c in seen] == [float(i) for i in range(100)]


def test_configured_subscribers_are_named_module_function() -> None:
    subs = load_configured({"TRAINBOARD_SUBSCRIBERS": "tests.support.subscribers:failing"})
    assert [s.name for s in subs] == ["failing"]
    with pytest.raises(ValueError, match="must be module:function"):
        load_configured({"TRAINBOARD_SUBSCRIBERS": "tests.support.subscribers"})


def test_a_metric_batch_builds_its_steps_only_when_read() -> None:
    built: list[int] = []

    def rows() -> list[tuple[int, float, dict[str, float]]]:
        built.append(1)
        return [(1, 0.5, {"loss": 0.25, "acc": 0.5}), (2, 0.6, {"loss": 0.125})]

    change = MetricBatch(run_id="r", project="p", committed_at=0.0, stream=None, rows=rows)
    assert built == []
    assert change.keys == {"loss", "acc"}
    assert change.series("loss") == [(1, 0.25), (2, 0.125)]
    assert change.steps[0][0] == 1
    assert built == [1]
