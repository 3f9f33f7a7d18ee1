"""The printed-metrics recogniser of ``trainboard run`` (``sdk/metric_parsing.py``)."""

from __future__ import annotations

import itertools
import math

from hypothesis import given
from hypothesis import strategies as st

from trainboard.sdk.metric_parsing import MetricParser, ParsedPoint, parse_text


def points(text: str | bytes) -> list[ParsedPoint]:
    return list(parse_text([text]))


def test_hf_trainer_dicts_count_steps_and_evaluations_share_the_last_step() -> None:
    text = (
        "\r 12%|#2        | 1/8 [00:00<00:01]\r\x1b[K{'loss': '0.6928', 'grad_norm': '0.09882', "
        "'learning_rate': '5e-05', 'epoch': '0.25'}\r\n"
        "{'loss': 0.6953, 'grad_norm': 0.429, 'learning_rate': 4.375e-05, 'epoch': 0.5}\r\n"
        "\x1b[A{'eval_loss': '0.693', 'eval_runtime': '0.0356', 'epoch': '0.5'}\r\n"
        "{'train_runtime': '1.5', 'train_loss': '0.69', 'epoch': '0.5'}\r\n"
    )
    assert points(text) == [
        ParsedPoint(1, {"loss": 0.6928, "grad_norm": 0.09882, "learning_rate": 5e-05, "epoch": 0.25}),
        ParsedPoint(2, {"loss": 0.6953, "grad_norm": 0.429, "learning_rate": 4.375e-05, "epoch": 0.5}),
        ParsedPoint(2, {"eval_loss": 0.693, "eval_runtime": 0.0356, "epoch": 0.5}),
        ParsedPoint(2, {"train_runtime": 1.5, "train_loss": 0.69, "epoch": 0.5}),
    ]


def test_keras_epoch_lines_give_the_epoch_as_step_and_only_the_final_redraw() -> None:
    text = (
        "Epoch 1/2\r\n\r\x1b[1m1/3\x1b[0m ━━━━ 0s 22ms/step - accuracy: 0.8125 - loss: 0.4925"
        + "\b" * 40
        + "\r3/3 ━━━━ 0s 16ms/step - accuracy: 0.8125 - loss: 0.4703 - val_accuracy: 0.5625 - val_loss: 0.4923\r\n"
        "Epoch 2/2\r\n3/3 ━━━━ 0s 4ms/step - accuracy: 0.9 - loss: 0.4 - val_accuracy: 0.6 - val_loss: 0.45\r\n"
    )
    assert points(text) == [
        ParsedPoint(1, {"accuracy": 0.8125, "loss": 0.4703, "val_accuracy": 0.5625, "val_loss": 0.4923}),
        ParsedPoint(2, {"accuracy": 0.9, "loss": 0.4, "val_accuracy": 0.6, "val_loss": 0.45}),
    ]


def test_a_tqdm_bar_redrawn_many_times_is_one_point_in_its_final_state() -> None:
    redraws = "".join(
        f"\r{i}%|##| {i}/100 [00:01<00:02, 30.0it/s, loss={1 / (i + 1):.3f}, v_num=0]" for i in range(101)
    )
    assert points(redraws + "\n") == [ParsedPoint(1, {"loss": 0.01})]
    assert points(redraws) == [ParsedPoint(1, {"loss": 0.01})]  # the stream ended without a newline


def test_plain_lines_take_their_step_from_step_iter_or_epoch_keys() -> None:
    text = (
        "step=100 loss=0.5 lr=1e-3\n"
        "iter: 7 | loss: 1.5e-2 | time: 3.2\n"
        "Step 200/1000: loss=0.25\n"
        "epoch=3 val_acc=0.9\n"
        "loss=0.1\n"
        "Python version: 3.11.2\nUsing device: cuda\n"
        "trainboard: log_metrics ignored a call: step=1\n"
        "loss=nan\n"
    )
    got = points(text)
    assert got[:5] == [
        ParsedPoint(100, {"loss": 0.5, "lr": 1e-3}),
        ParsedPoint(7, {"loss": 0.015, "time": 3.2}),
        ParsedPoint(200, {"loss": 0.25}),
        ParsedPoint(3, {"epoch": 3.0, "val_acc": 0.9}),
        ParsedPoint(201, {"loss": 0.1}),  # no step: one past the last step of its keys
    ]
    assert len(got) == 6 and got[5].step == 202 and math.isnan(got[5].metrics["loss"])


def test_nothing_inside_a_traceback_is_parsed() -> None:
    text = (
        "loss=1.0\n"
        "Traceback (most recent call last):\n"
        '  File "train.py", line 3, in <module>\n'
        '    print("loss=2.0")\n'
        "ValueError: loss=3.0 diverged\n"
        "loss=4.0\n"
    )
    assert [p.metrics["loss"] for p in points(text)] == [1.0, 4.0]


def test_nothing_inside_an_exception_group_report_is_parsed() -> None:
    text = (
        "  + Exception Group Traceback (most recent call last):\n"
        '  |   File "train.py", line 9, in <module>\n'
        "  | ExceptionGroup: loss=2.0 (1 sub-exception)\n"
        "  +-+---------------- 1 ----------------\n"
        "    | Traceback (most recent call last):\n"
        "    | ValueError: loss=3.0\n"
        "    +------------------------------------\n"
        "loss=4.0\n"
    )
    assert [p.metrics["loss"] for p in points(text)] == [4.0]


texts = st.one_of(
    st.text(alphabet=st.sampled_from(list("loss=0.5 step:12\r\n\b\x1b[{}',-|/EpochTrcbk()1e+nai")), max_size=400),
    st.text(max_size=200),
)


@given(texts, st.lists(st.integers(min_value=0, max_value=400), max_size=8))
def test_never_raises_and_any_chunking_gives_the_same_points(text: str, cuts: list[int]) -> None:
    whole = points(text)
    bounds = sorted({0, len(text), *(min(c, len(text)) for c in cuts)})
    chunks = [text[a:b] for a, b in itertools.pairwise(bounds)]
    assert repr(list(parse_text(chunks))) == repr(whole)  # (repr: NaN != NaN)
    assert repr(points(text)) == repr(whole)  # idempotent: a fresh parser finds the same again


@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    parser = MetricParser()
    for i in range(0, len(data), 7):
        parser.feed(data[i : i + 7])
    parser.finish()


keys = st.from_regex(r"[a-z]([a-z0-9_/.]{0,20}[a-z0-9_])?", fullmatch=True).filter(
    lambda k: k not in ("step", "epoch", "iter")
)
values = st.floats(allow_nan=False, allow_infinity=False, width=64)


@given(st.integers(min_value=0, max_value=2**53 - 1), st.dictionaries(keys, values, min_size=1, max_size=6))
def test_a_formatted_line_reads_back_exactly(step: int, metrics: dict[str, float]) -> None:
    line = f"step={step} " + ", ".join(f"{k}={v!r}" for k, v in metrics.items())
    metrics = {k: v for k, v in metrics.items() if k != "v_num"}  # (Lightning's version number)
    expected = [ParsedPoint(step, metrics)] if metrics else []
    assert points(line + "\r\n") == expected


def test_warnings_and_errors_are_advice_not_metrics() -> None:
    lines = [
        "UserWarning: dataloader is slower than the GPU (2 workers); consider num_workers=8\n",
        "WARNING: retrying in backoff=2.5 seconds\n",
        "RuntimeError: expected size=3 but got 4\n",
        "loss=0.5 acc=0.9\n",
    ]
    points = parse_text("".join(lines))
    assert [p.metrics for p in points] == [{"loss": 0.5, "acc": 0.9}]
