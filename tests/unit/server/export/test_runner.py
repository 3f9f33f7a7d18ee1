"""A sink's runner: batches, the bounded buffer (oldest dropped and counted), retry until through, rejection."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

from trainboard.server.export.config import SinkConfig
from trainboard.server.export.records import Record
from trainboard.server.export.runner import SendError, SinkRunner


def rec(i: int) -> Record:
    return Record(time_ns=i, kind="line", text=f"l{i}", level_no=20, labels={"run": "r"})


class FakeSink:
    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.fail_with: SendError | None = None
        self.gate = threading.Event()
        self.gate.set()
        self.attempts = 0

    def send(self, records: Sequence[Record]) -> None:
        self.gate.wait()
        self.attempts += 1
        if self.fail_with is not None:
            raise self.fail_with
        self.batches.append([r.text for r in records])

    def close(self) -> None:
        pass


def until(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def runner(sink: FakeSink, **conf: float) -> SinkRunner:
    config = SinkConfig(name="t", type="loki", endpoint="http://x", **conf)  # type: ignore[arg-type]
    made = SinkRunner(config, sink, endpoint_shown="http://x")
    made.start()
    return made


def test_batches_are_cut_at_batch_size_in_order() -> None:
    sink = FakeSink()
    run = runner(sink, batch_size=4, batch_interval=0.05)
    run.offer([rec(i) for i in range(10)])
    until(lambda: sum(map(len, sink.batches)) == 10)
    assert [len(b) for b in sink.batches] == [4, 4, 2] and sink.batches[0] == ["l0", "l1", "l2", "l3"]
    run.stop(2)
    assert run.status().exported == 10


def test_offer_never_waits_and_the_oldest_are_dropped_beyond_the_buffer() -> None:
    sink = FakeSink()
    sink.gate.clear()  # the sink hangs
    run = runner(sink, batch_size=2, batch_interval=0.01, max_buffer=5)
    run.offer([rec(0), rec(1)])
    until(lambda: run.status().buffered == 0)  # taken: the thread is stuck sending them
    started = time.monotonic()
    for i in range(2, 12):
        run.offer([rec(i)])
    run.offer([rec(i) for i in range(12, 20)])  # more than the whole buffer at once
    assert time.monotonic() - started < 0.5
    status = run.status()
    assert (status.buffered, status.dropped) == (5, 13)
    sink.gate.set()
    until(lambda: sum(map(len, sink.batches)) == 7)
    assert [t for b in sink.batches for t in b] == ["l0", "l1", "l15", "l16", "l17", "l18", "l19"]
    run.stop(2)


def test_a_failing_batch_is_retried_until_it_goes_through_and_a_rejected_one_is_not() -> None:
    sink = FakeSink()
    sink.fail_with = SendError("connection refused")
    run = runner(sink, batch_size=10, batch_interval=0.01)
    run.offer([rec(1)])
    until(lambda: sink.attempts >= 2)  # 0.5 s backoff after the first failure
    status = run.status()
    assert status.retrying and status.last_error == "connection refused" and status.failed_attempts >= 2
    sink.fail_with = None
    until(lambda: sink.batches == [["l1"]], timeout=5)
    assert not run.status().retrying
    sink.fail_with = SendError("HTTP 400: bad labels", retry=False)
    run.offer([rec(2)])
    until(lambda: run.status().rejected == 1)
    attempts = sink.attempts
    time.sleep(0.7)
    assert sink.attempts == attempts  # not sent again
    run.stop(1)


def test_stop_sends_what_is_buffered_and_counts_what_could_not_go() -> None:
    sink = FakeSink()
    run = runner(sink, batch_size=1000, batch_interval=30.0)
    run.offer([rec(i) for i in range(3)])
    run.stop(2)  # does not wait for the 30 s interval
    assert sink.batches == [["l0", "l1", "l2"]]
    run.offer([rec(9)])  # after stop: counted, not kept
    assert run.status().buffered == 0
