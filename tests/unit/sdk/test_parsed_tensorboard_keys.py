"""Keys a recorded command also writes to TensorBoard files come from the files only (``sdk/parsed_metrics.py``):
a printed value of such a key is never sent, and once the run has event files a printed point waits until the files
have caught up with it (a writer flushes every couple of minutes by default)."""

from __future__ import annotations

import time
from pathlib import Path

from trainboard.sdk.parsed_metrics import DIGITS_KEY, ParsedMetrics
from trainboard.sdk.tb_follow import FOUND, SCANNED


class Sink:
    def __init__(self) -> None:
        self.points: list[tuple[int, dict[str, float]]] = []
        self.config: dict[str, object] = {}

    def log_metrics_at(self, step: int, timestamp: float, metrics: dict[str, float]) -> None:
        self.points.append((step, metrics))

    def update_config(self, values: dict[str, object]) -> None:
        self.config.update(values)


def test_a_key_the_tensorboard_files_hold_comes_from_the_files_only(tmp_path: Path) -> None:
    sink = Sink()
    parsed = ParsedMetrics(sink, tmp_path / "sdk_keys", grace=0.0, follow_files=True)
    parsed.add_at(FOUND, 0.0, {})  # the follower found an event file (no scalars flushed yet)
    parsed.on_output("stdout", b"step=1 loss=0.5 acc=0.25\nstep=2 loss=0.4375 acc=0.5\n")
    parsed.add_at(1, 1.0, {"loss": 0.49999})  # (the writer flushes later than the program prints)
    parsed.add_at(2, 2.0, {"loss": 0.43751})
    parsed.close()
    loss = [(step, m["loss"]) for step, m in sink.points if "loss" in m]
    assert loss == [(1, 0.49999), (2, 0.43751)]  # the printed 0.5 and 0.4375 never sent
    assert [(step, m["acc"]) for step, m in sink.points if "acc" in m] == [(1, 0.25), (2, 0.5)]
    assert sink.config[DIGITS_KEY] == {"acc": 2}


def test_printed_points_wait_for_the_files_once_a_run_has_event_files(tmp_path: Path) -> None:
    sink = Sink()
    parsed = ParsedMetrics(sink, tmp_path / "sdk_keys", grace=0.0, follow_files=True)
    parsed.on_output("stdout", b"step=1 acc=0.25\n")
    time.sleep(0.5)
    assert sink.points == []  # the follower has not looked for event files since the print
    parsed.add_at(FOUND, 0.0, {})
    parsed.add_at(SCANNED, time.time(), {})
    time.sleep(0.5)
    assert sink.points == []  # it has, and found one: its scalars have not caught up with the print yet
    parsed.add_at(1, time.time(), {"loss": 0.5})
    time.sleep(0.5)
    assert (1, {"acc": 0.25}) in sink.points
    parsed.close()


def test_without_event_files_printed_points_wait_only_for_a_look(tmp_path: Path) -> None:
    sink = Sink()
    parsed = ParsedMetrics(sink, tmp_path / "sdk_keys", grace=0.0, follow_files=True)
    parsed.on_output("stdout", b"step=1 acc=0.25\n")
    time.sleep(0.3)
    assert sink.points == []
    parsed.add_at(SCANNED, time.time(), {})
    time.sleep(0.5)
    assert sink.points == [(1, {"acc": 0.25})]
    parsed.close()
