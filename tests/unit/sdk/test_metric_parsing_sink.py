"""What ``trainboard run``'s parsing sends (``sdk/parsed_metrics.py``): points from both streams of one program
at the steps the parser finds, and the run config's record of which keys were read from text, and how precisely."""

from __future__ import annotations

from pathlib import Path

from trainboard.sdk.parsed_metrics import CONFIG_KEY, DIGITS_KEY, ParsedMetrics


class Sink:
    def __init__(self) -> None:
        self.points: list[tuple[int, dict[str, float]]] = []
        self.config: dict[str, object] = {}

    def log_metrics_at(self, step: int, timestamp: float, metrics: dict[str, float]) -> None:
        self.points.append((step, metrics))

    def update_config(self, values: dict[str, object]) -> None:
        self.config.update(values)


def test_hf_dict_on_stdout_gets_its_step_from_the_bar_on_stderr_and_digits_are_noted(tmp_path: Path) -> None:
    sink = Sink()
    parsed = ParsedMetrics(sink, tmp_path / "sdk_keys", grace=0.0)
    parsed.on_output("stderr", b"\r  0%|          | 0/24 [00:00<?, ?it/s]")
    parsed.on_output("stdout", b"{'loss': '0.6933', 'learning_rate': '4.167e-05', 'epoch': '0.625'}\r\n")
    parsed.on_output("stderr", b"\r 21%|##        | 5/24 [00:00<00:00, 53.50it/s]")
    parsed.on_output("stdout", b"step=7 acc=0.912345\r\n")
    parsed.add_at(8, 1.0, {"train/loss": 0.25})  # (from a TensorBoard file: exact, no printed digits)
    parsed.close()
    assert sorted(sink.points, key=lambda p: p[0]) == [  # (file points are queued at once, text once parsed)
        (5, {"loss": 0.6933, "learning_rate": 4.167e-05, "epoch": 0.625}),
        (7, {"acc": 0.912345}),
        (8, {"train/loss": 0.25}),
    ]
    assert sink.config[CONFIG_KEY] == ["acc", "epoch", "learning_rate", "loss", "train/loss"]
    assert sink.config[DIGITS_KEY] == {"acc": 6, "epoch": 3, "learning_rate": 4, "loss": 4}


def test_the_noted_digits_are_the_most_any_value_of_the_key_was_printed_with(tmp_path: Path) -> None:
    sink = Sink()
    parsed = ParsedMetrics(sink, tmp_path / "sdk_keys", grace=0.0)
    parsed.on_output("stdout", b"step=1 loss=0.5\nstep=2 loss=0.4375\nstep=3 loss=0.25\n")
    parsed.close()
    assert [step for step, _ in sink.points] == [1, 2, 3]
    assert sink.config[DIGITS_KEY] == {"loss": 4}
