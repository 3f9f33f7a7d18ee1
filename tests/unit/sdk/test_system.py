from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Iterator

import pytest

from trainboard.sdk.system import SystemSampler

Sample = dict[str, float]


class Recorder:
    """An ``on_sample`` that keeps samples with their arrival times and signals after ``wanted`` of them."""

    def __init__(self, wanted: int = 1) -> None:
        self.samples: list[Sample] = []
        self.times: list[float] = []
        self.wanted = wanted
        self.enough = threading.Event()

    def __call__(self, sample: Sample) -> None:
        self.samples.append(sample)
        self.times.append(time.monotonic())
        if len(self.samples) >= self.wanted:
            self.enough.set()


@pytest.fixture
def started() -> list[SystemSampler]:
    return []


def run(sampler: SystemSampler, started: list[SystemSampler]) -> SystemSampler:
    started.append(sampler)
    sampler.start()
    return sampler


@pytest.fixture(autouse=True)
def stop_all(started: list[SystemSampler]) -> Iterator[None]:
    yield
    for sampler in started:
        sampler.stop()


def test_calls_back_at_the_interval(started: list[SystemSampler]) -> None:
    recorder = Recorder(wanted=4)
    begin = time.monotonic()
    run(SystemSampler(0.2, on_sample=recorder), started)
    assert recorder.enough.wait(10)
    assert recorder.times[0] - begin >= 0.18  # the first sample comes one interval after start
    gaps = [b - a for a, b in zip(recorder.times, recorder.times[1:], strict=False)]
    assert all(gap >= 0.05 for gap in gaps)  # loose: CI machines are shared and noisy
    assert 0.1 <= sum(gaps) / len(gaps) <= 1.0
    for sample in recorder.samples:
        assert 0.0 <= sample["sys/cpu_percent"] <= 100.0
        assert sample["sys/ram_used"] > 0
        assert sample["sys/proc_rss"] > 0  # this process, by default


def test_stop_returns_promptly_and_ends_the_thread(started: list[SystemSampler]) -> None:
    sampler = run(SystemSampler(60.0, on_sample=Recorder()), started)
    assert sampler.running
    begin = time.monotonic()
    sampler.stop()
    assert time.monotonic() - begin < 1.0
    assert not sampler.running
    assert not any(t.name == "trainboard-system-sampler" for t in threading.enumerate())


def test_sampling_thread_is_a_daemon(started: list[SystemSampler]) -> None:
    run(SystemSampler(60.0, on_sample=Recorder()), started)
    threads = [t for t in threading.enumerate() if t.name == "trainboard-system-sampler"]
    assert [t.daemon for t in threads] == [True]


def test_no_callback_after_stop(started: list[SystemSampler]) -> None:
    recorder = Recorder()
    sampler = run(SystemSampler(0.05, on_sample=recorder), started)
    assert recorder.enough.wait(10)
    sampler.stop()
    count = len(recorder.samples)
    time.sleep(0.2)
    assert len(recorder.samples) == count


def test_a_failing_callback_is_logged_once_and_sampling_goes_on(
    started: list[SystemSampler], caplog: pytest.LogCaptureFixture
) -> None:
    recorder = Recorder(wanted=3)

    def failing(sample: Sample) -> None:
        recorder(sample)
        raise ValueError("boom")

    run(SystemSampler(0.05, on_sample=failing), started)
    assert recorder.enough.wait(10)
    warnings = [r for r in caplog.records if r.name == "trainboard.sdk.system"]
    assert [r.levelno for r in warnings] == [logging.WARNING]


def test_stop_from_inside_the_callback(started: list[SystemSampler]) -> None:
    recorder = Recorder()
    holder: list[SystemSampler] = []

    def stop_self(sample: Sample) -> None:
        recorder(sample)
        holder[0].stop()

    sampler = SystemSampler(0.05, on_sample=stop_self)
    holder.append(sampler)
    run(sampler, started)
    assert recorder.enough.wait(10)
    time.sleep(0.2)
    assert len(recorder.samples) == 1
    assert not sampler.running


def test_start_is_idempotent_and_restart_works(started: list[SystemSampler]) -> None:
    recorder = Recorder(wanted=2)
    sampler = run(SystemSampler(0.05, on_sample=recorder, gpus=False), started)
    sampler.start()
    threads = [t for t in threading.enumerate() if t.name == "trainboard-system-sampler"]
    assert len(threads) == 1
    sampler.stop()
    sampler.stop()  # idempotent
    sampler.start()
    assert recorder.enough.wait(10)
    assert not any(key.startswith("sys/gpu") for sample in recorder.samples for key in sample)


@pytest.mark.parametrize("interval", [0.0, -1.0, math.nan])
def test_interval_must_be_positive(interval: float) -> None:
    with pytest.raises(ValueError, match="interval"):
        SystemSampler(interval, on_sample=Recorder())
