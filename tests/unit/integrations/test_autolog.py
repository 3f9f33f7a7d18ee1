"""``trainboard.autolog()`` wraps the trainers' ``__init__`` once, adds one callback / logger, and undoes itself."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytest.importorskip("transformers")

CODE = """
import trainboard, transformers
original = transformers.Trainer.__init__
assert "transformers" in trainboard.autolog()
wrapped = transformers.Trainer.__init__
assert wrapped is not original
trainboard.autolog()
assert transformers.Trainer.__init__ is wrapped  # idempotent: not wrapped twice
trainboard.autolog(disable=True)
assert transformers.Trainer.__init__ is original
print("ok")
"""

ADDS_ONE = """
import torch, trainboard
from transformers import BertConfig, BertForSequenceClassification, Trainer, TrainingArguments
from trainboard.integrations.transformers import TrainboardCallback
trainboard.autolog(); trainboard.autolog()
model = BertForSequenceClassification(BertConfig(vocab_size=10, hidden_size=8, num_hidden_layers=1,
                                                 num_attention_heads=2, intermediate_size=8))
args = TrainingArguments(output_dir="out", report_to=[], use_cpu=True)
mine = TrainboardCallback(run_name="mine")
for callbacks, want in (([], 1), ([mine], 1)):
    trainer = Trainer(model=model, args=args, callbacks=callbacks)
    found = [c for c in trainer.callback_handler.callbacks if isinstance(c, TrainboardCallback)]
    assert len(found) == want, found
assert found == [mine]
print("ok")
"""


@pytest.mark.parametrize("code", [CODE, ADDS_ONE], ids=["reversible", "one-callback"])
def test_autolog(code: str, tmp_path: object) -> None:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=str(tmp_path), timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-3000:]
