"""Evaluations printed after training never overwrite training values or each other (``sdk/metric_parsing.py``):
HF's ``evaluate()`` dicts after the training summary and Keras' ``evaluate()`` lines after ``fit`` go under
``evaluate/``, the first at the final step, each repeated one a step after the one before."""

from __future__ import annotations

from trainboard.sdk.metric_parsing import parse_text

HF_NO_BAR = (
    "{'loss': '0.6946', 'epoch': '1'}\n"
    "{'loss': '0.6931', 'epoch': '2'}\n"
    "{'eval_loss': '0.6934', 'eval_runtime': '0.1997', 'epoch': '2'}\n"
    "{'train_runtime': '5.356', 'train_loss': '0.6935', 'epoch': '2'}\n"
    "{'eval_loss': '0.6934', 'eval_runtime': '0.0935', 'epoch': '2'}\n"
    "{'eval_loss': '0.6934', 'eval_runtime': '0.358', 'epoch': '2'}\n"
)

KERAS = (
    "Epoch 1/2\n"
    "4/4 ━━━━━━━━━━━━━━━━━━━━ 0s 5ms/step - accuracy: 0.5000 - loss: 0.7000\n"
    "Epoch 2/2\n"
    "4/4 ━━━━━━━━━━━━━━━━━━━━ 0s 5ms/step - accuracy: 0.6000 - loss: 0.6500\n"
    "4/4 ━━━━━━━━━━━━━━━━━━━━ 0s 2ms/step - accuracy: 0.6200 - loss: 0.6400\n"
    "2/2 ━━━━━━━━━━━━━━━━━━━━ 0s 2ms/step - accuracy: 0.7000 - loss: 0.6000\n"
)


def points(text: str) -> dict[tuple[str, int], float]:
    out: dict[tuple[str, int], float] = {}
    for point in parse_text([text]):
        for key, value in point.metrics.items():
            assert out.get((key, point.step), value) == value, f"{key} at {point.step} overwritten"
            out[(key, point.step)] = value
    return out


def test_hf_evaluate_twice_after_training_keeps_the_last_epochs_eval() -> None:
    got = points(HF_NO_BAR)
    assert got[("eval_runtime", 2)] == 0.1997
    assert got[("evaluate/eval_runtime", 2)] == 0.0935
    assert got[("evaluate/eval_runtime", 3)] == 0.358


def test_keras_evaluate_twice_after_fit() -> None:
    got = points(KERAS)
    assert got[("loss", 1)] == 0.65 and got[("accuracy", 1)] == 0.6
    assert got[("evaluate/loss", 1)] == 0.64 and got[("evaluate/loss", 2)] == 0.6
    assert got[("evaluate/accuracy", 2)] == 0.7
