"""The printed-metrics recogniser of ``trainboard run`` (``sdk/metric_parsing.py``)."""

from __future__ import annotations

import itertools
import math

from hypothesis import given
from hypothesis import strategies as st

from trainboard.sdk.metric_fields import is_identifier
from trainboard.sdk.metric_parsing import MetricParser, ParsedPoint, StreamGroup, parse_text


def points(text: str | bytes) -> list[ParsedPoint]:
    return list(parse_text([text]))


TRAIN_BAR = "\r{pct}%|{bar}| {n}/24 [00:00<00:00, 69.81it/s]"
EVAL_BAR = "\r{pct}%|{bar}| {n}/4 [00:00<00:00, 966.99it/s]\x1b[A"  # (drawn on the row below: cursor back up)


def test_hf_dicts_on_stdout_take_the_global_step_from_the_training_bar_hf_redraws_on_stderr() -> None:
    group = StreamGroup()
    out, err = MetricParser(group), MetricParser(group)
    got: list[ParsedPoint] = []
    feed = [  # (as HF 4.5x writes them under trainboard run: dicts on stdout, bars on stderr)
        (err, TRAIN_BAR.format(pct=0, bar=" ", n=0) + TRAIN_BAR.format(pct=12, bar="#", n=3)),  # (stale by then)
        (out, "{'loss': '0.6933', 'grad_norm': '0.7603', 'learning_rate': '4.167e-05', 'epoch': '0.625'}"),
        (out, "\r\n"),
        (err, TRAIN_BAR.format(pct=21, bar="#", n=5) + TRAIN_BAR.format(pct=29, bar="##", n=7)),
        (err, "\r\n" + EVAL_BAR.format(pct=0, bar=" ", n=0) + EVAL_BAR.format(pct=100, bar="###", n=4)),
        (out, "{'eval_loss': '0.6934', 'eval_runtime': '0.0129', 'epoch': '1'}\r\n"),
        (err, TRAIN_BAR.format(pct=33, bar="##", n=8) + "\r\n"),
        (out, "{'train_runtime': '0.1996', 'train_loss': '0.6935', 'epoch': '3'}\r\n"),
        (err, "\r  0%|          | 0/4 [00:00<?, ?it/s]"),  # an evaluate() after train(): another bar
        (out, "{'eval_loss': '0.6931', 'eval_runtime': '0.0048', 'epoch': '3'}\r\n"),
        (err, "\r100%|##########| 4/4 [00:00<00:00, 1149.91it/s]\r\n"),
    ]
    for parser, text in feed:
        got += parser.feed(text)
    got += out.finish() + err.finish()
    assert got == [
        ParsedPoint(5, {"loss": 0.6933, "grad_norm": 0.7603, "learning_rate": 4.167e-05, "epoch": 0.625}),
        ParsedPoint(8, {"eval_loss": 0.6934, "eval_runtime": 0.0129, "epoch": 1.0}),
        ParsedPoint(8, {"train_runtime": 0.1996, "train_loss": 0.6935, "epoch": 3.0}),
        ParsedPoint(8, {"evaluate/eval_loss": 0.6931, "evaluate/eval_runtime": 0.0048}),  # never over epoch 1's
    ]
    assert got[0].digits == {"loss": 4, "grad_norm": 4, "learning_rate": 4, "epoch": 3}


def test_an_hf_dict_that_arrives_after_its_redraw_still_gets_its_step() -> None:
    """Two terminals deliver in no fixed order: tqdm.write's clear and redraw (stderr) may come before the dict."""
    group = StreamGroup()
    out, err = MetricParser(group), MetricParser(group)
    clear = "\r" + " " * 40 + "\r"
    got = err.feed(TRAIN_BAR.format(pct=0, bar=" ", n=0) + clear + TRAIN_BAR.format(pct=12, bar="#", n=1))
    got += err.feed(TRAIN_BAR.format(pct=25, bar="#", n=2))  # (training went on before stdout was read)
    got += out.feed("{'loss': '0.6928', 'epoch': '0.125'}\r\n")
    got += err.feed(clear + TRAIN_BAR.format(pct=25, bar="#", n=2))
    got += out.feed("{'loss': '0.6953', 'epoch': '0.25'}\r\n")
    got += out.feed("{'loss': '0.6911', 'epoch': '0.375'}")  # (its newline read after the redraw)
    got += err.feed(clear + TRAIN_BAR.format(pct=38, bar="#", n=3) + TRAIN_BAR.format(pct=50, bar="#", n=4))
    got += out.feed("\r\n")
    assert [(p.step, p.metrics["loss"]) for p in got] == [(1, 0.6928), (2, 0.6953), (3, 0.6911)]


def test_hf_dicts_without_a_bar_count_steps_and_evaluations_share_the_last_step() -> None:
    text = (  # (disable_tqdm=True: HF's PrinterCallback prints the dicts alone)
        "{'loss': 0.6928, 'grad_norm': 0.09882, 'learning_rate': 5e-05, 'epoch': 0.25}\n"
        "{'loss': 0.6953, 'grad_norm': 0.429, 'learning_rate': 4.375e-05, 'epoch': 0.5}\n"
        "{'eval_loss': 0.693, 'eval_runtime': 0.0356, 'epoch': 0.5}\n"
    )
    assert [(p.step, sorted(p.metrics)) for p in points(text)] == [
        (1, ["epoch", "grad_norm", "learning_rate", "loss"]),
        (2, ["epoch", "grad_norm", "learning_rate", "loss"]),
        (2, ["epoch", "eval_loss", "eval_runtime"]),
    ]


def test_keras_epochs_count_from_0_and_a_later_evaluate_gets_its_own_keys() -> None:
    text = (
        " Total params: 49 (196.00 B)\r\n Trainable params: 49 (196.00 B)\r\n"
        "Epoch 1/2\r\n\r\x1b[1m1/3\x1b[0m ━━━━ 0s 22ms/step - accuracy: 0.8125 - loss: 0.4925"
        + "\b"
        * 40
        + "\r3/3 ━━━━ 0s 16ms/step - accuracy: 0.8125 - loss: 0.4703 - val_accuracy: 0.5625 - val_loss: 0.4923\r\n"
        "Epoch 2/2\r\n3/3 ━━━━ 0s 4ms/step - accuracy: 0.9000 - loss: 0.4 - val_accuracy: 0.6 - val_loss: 0.45\r\n"
        "\r4/4 ━━━━ 0s 1ms/step - accuracy: 0.7812 - loss: 0.4628\r\n"
    )
    got = points(text)
    assert got == [
        ParsedPoint(0, {"accuracy": 0.8125, "loss": 0.4703, "val_accuracy": 0.5625, "val_loss": 0.4923}),
        ParsedPoint(1, {"accuracy": 0.9, "loss": 0.4, "val_accuracy": 0.6, "val_loss": 0.45}),
        ParsedPoint(1, {"evaluate/accuracy": 0.7812, "evaluate/loss": 0.4628}),
    ]
    assert got[1].digits["accuracy"] == 4  # ("0.9000": printed to 4 digits)


def test_a_progress_bar_postfix_without_a_step_is_not_a_point() -> None:
    redraws = "".join(
        f"\r{i}%|##| {i}/100 [00:01<00:02, 30.0it/s, loss={1 / (i + 1):.3f}, v_num=0]" for i in range(101)
    )
    assert points(redraws + "\n") == []
    assert points(redraws) == []
    assert points("\rbatch:  50%|##| 4/8 [00:00<00:00, 9.9it/s, step=12, loss=0.25]\n") == [
        ParsedPoint(12, {"loss": 0.25})
    ]


def test_a_bars_counters_never_become_the_step_of_what_is_printed_after_it() -> None:
    text = "\repoch:  12%|█▏        | 12/100 [00:01<00:08, 9.8it/s]step=5 loss=0.3125\n"
    assert points(text) == [ParsedPoint(5, {"loss": 0.3125})]


LIGHTNING_80 = (  # Lightning's Rich bar at 80 columns: the postfix wraps, a field per line
    "\r\x1b[2KEpoch 1/2  ━━━━━━━━━━━━━━━━━ 8/8 0:00:00 • 0:00:00 344.84it/s v_num: 0.000      \r\n"
    "                                                              train_loss: 0.856 \r\n"
    "                                                              val_loss: 2.405   \r\n"
    "                                                              val_acc: 0.000    \r\n"
    "Validation ━━━━━━━━━━━━━━╸━━ 7/8 0:00:00 • 0:00:01 840.48it/s                   \r\n"
)
LIGHTNING_200 = (
    "\r\x1b[2KEpoch 1/2  ━━━━━━━━━━━━━━━━━ 8/8 0:00:00 • 0:00:00 344.84it/s v_num: 0.000 train_loss: 0.856 "
    "val_loss: 2.405 val_acc: 0.000\r\n"
)


def test_progress_bars_give_the_same_nothing_at_any_terminal_width() -> None:
    assert points(LIGHTNING_80) == points(LIGHTNING_200) == []
    assert points(LIGHTNING_80 + "step=3 loss=0.5\n") == [ParsedPoint(3, {"loss": 0.5})]


def test_an_indented_report_after_a_tqdm_bar_is_still_read() -> None:
    text = "\rbatch: 100%|##| 8/8 [00:00<00:00, 9.9it/s, loss=0.25]\n    step=8 val_loss=0.5\n10/100 - loss: 0.5\n"
    assert points(text) == [ParsedPoint(8, {"val_loss": 0.5}), ParsedPoint(1, {"loss": 0.5})]  # (no Keras here)


def test_banners_summaries_and_launcher_reports_are_not_metrics() -> None:
    text = (
        "GPU available: False, used: False\r\n"
        "TPU available: False, using: 0 TPU cores\r\n"
        "┃   ┃ Name ┃ Type       ┃ Params ┃ Mode  ┃ FLOPs ┃\r\n"
        "│ 0 │ net  │ Sequential │     49 │ train │     0 │\r\n"
        "Trainable params: 49                                                            \r\n"
        "Total estimated model params size (MB): 0.000\r\n"
        "Modules in train mode: 4\r\n"
        "Total FLOPs: 0\r\n"
        "E1207 15:27:13.564000 16412 torch/distributed/elastic/multiprocessing/api.py:1002] failed "
        "(exitcode: 1) local_rank: 1 (pid: 16569) of binary: /usr/bin/python\r\n"
        "[rank1]: Traceback (most recent call last):\r\n"
        '[rank1]:   File "/tmp/ddp.py", line 17, in <module>\r\n'
        "[rank1]: RuntimeError: rank 1 failed at step=3\r\n"
        "  time      : 2026-12-07_15:27:13\r\n"
        "  rank      : 1 (local_rank: 1)\r\n"
        "  exitcode  : 1 (pid: 16569) \r\n"
        "  error_file: <N/A>\r\n"
        "torch/distributed/elastic/multiprocessing/api.py:1002 something\r\n"
        "pid=27842 rank=1 port=29500 loss=0.5\r\n"
    )
    assert points(text) == [ParsedPoint(1, {"loss": 0.5})]  # (and from the last line, the loss only)


def test_printed_precision_is_kept_per_value() -> None:
    (point,) = points("step=3 loss=0.69280 lr=5e-05 acc=1 big=1.234e+05 ratio=nan\n")
    assert point.digits == {"loss": 5, "lr": 1, "acc": 1, "big": 4}  # (nan: no digits)


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
    metrics = {k: v for k, v in metrics.items() if not is_identifier(k)}  # (pid, seed, a.py ...: never metrics)
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
