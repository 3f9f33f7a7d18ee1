"""HF transformers ``Trainer`` with ``TrainboardCallback`` / ``trainboard.autolog()`` on a tiny BERT built from
a config (no model hub), in a subprocess against a real server: what trainboard stored equals the Trainer's
own ``state.log_history`` (a final ``trainer.evaluate()`` after ``train()`` included), the config is stored,
the checkpoints are registered, the run is completed; SIGKILLed mid-training, the metrics up to the kill
are there after ``trainboard sync``."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from tests.support.integrations import (
    assert_same_points,
    checkpoints,
    expected_points,
    metric_points,
    only_run,
    records,
    run_script,
    run_until_kill,
    sync,
)
from tests.support.servers import ServerProcess

#: The SDK is what is under test here, not the database: SQLite only.
pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

pytest.importorskip("transformers")
pytest.importorskip("accelerate")

SCRIPT = """
import json, sys, time
import torch
from transformers import BertConfig, BertForSequenceClassification, Trainer, TrainerCallback, TrainingArguments
import trainboard

MODE = sys.argv[1]
if MODE == "autolog":
    trainboard.autolog()
    trainboard.autolog()  # idempotent: still one callback

class Data(torch.utils.data.Dataset):
    def __init__(self, n, seed):
        g = torch.Generator().manual_seed(seed)
        self.x = torch.randint(0, 100, (n, 8), generator=g)
        self.y = torch.randint(0, 2, (n,), generator=g)
    def __len__(self):
        return len(self.x)
    def __getitem__(self, i):
        return {"input_ids": self.x[i], "labels": self.y[i]}

class Report(TrainerCallback):  # runs after trainboard's callback: prints what was logged
    def on_log(self, args, state, control, logs=None, **kw):
        print("RECORD " + json.dumps({"step": state.global_step, "logs": logs}), flush=True)
        if MODE == "kill" and state.global_step >= 8:
            time.sleep(0.5)  # five times the SDK's documented journal latency
            print("KILL_ME", flush=True)
            time.sleep(60)

torch.manual_seed(0)
model = BertForSequenceClassification(BertConfig(vocab_size=100, hidden_size=16, num_hidden_layers=1,
                                                 num_attention_heads=2, intermediate_size=32))
args = TrainingArguments(output_dir="out", max_steps=12, per_device_train_batch_size=4, logging_steps=2,
                         eval_strategy="steps", eval_steps=6, save_steps=6, report_to=[], use_cpu=True,
                         disable_tqdm=True, learning_rate=1e-3, run_name="tiny-bert")
callbacks = []
if MODE != "autolog":
    from trainboard.integrations.transformers import TrainboardCallback
    callbacks.append(TrainboardCallback())
callbacks.append(Report())
trainer = Trainer(model=model, args=args, train_dataset=Data(64, 1), eval_dataset=Data(16, 2), callbacks=callbacks)
trainer.train()
trainer.evaluate(metric_key_prefix="final")  # after train(): must still land
json.dump(trainer.state.log_history, open("history.json", "w"))
"""


def history_points(history: list[dict[str, object]]) -> dict[tuple[str, int], float]:
    return expected_points(((int(e["step"]), e) for e in history), skip=("step", "total_flos"))  # type: ignore[call-overload]


@pytest.mark.parametrize("mode", ["callback", "autolog"])
def test_trainer_metrics_config_checkpoints(
    server: ServerProcess, http: httpx.Client, tmp_path: Path, mode: str
) -> None:
    run_script(server, tmp_path, SCRIPT, mode)
    history = json.loads((tmp_path / "history.json").read_text())
    run = only_run(http)
    assert run["status"] == "completed" and run["exit_code"] == 0
    assert run["name"] == "tiny-bert"
    assert_same_points(metric_points(http, run["id"]), history_points(history))
    assert ("final_loss", 12) in metric_points(http, run["id"])  # the evaluate() after train() landed
    config = run["config"]
    assert config["args"]["learning_rate"] == 1e-3 and config["args"]["max_steps"] == 12
    assert config["model"]["hidden_size"] == 16 and config["model_class"] == "BertForSequenceClassification"
    saved = checkpoints(http, run["id"])
    assert [(Path(c["path"]), c["step"], c["valid"]) for c in saved] == [
        ((tmp_path / "out" / "checkpoint-6").resolve(), 6, True),
        ((tmp_path / "out" / "checkpoint-12").resolve(), 12, True),
    ]
    at_6 = {k: v for e in history if e["step"] == 6 for k, v in e.items() if k not in ("step", "total_flos")}
    assert saved[0]["metrics"]["loss"] == pytest.approx(at_6["loss"])
    assert saved[0]["metrics"]["eval_loss"] == pytest.approx(at_6["eval_loss"])


def test_killed_trainer_keeps_metrics_up_to_the_kill(server: ServerProcess, http: httpx.Client, tmp_path: Path) -> None:
    lines = run_until_kill(server, tmp_path, SCRIPT, "kill")
    sync(server, tmp_path)
    logged = records(lines)
    assert logged[-1]["step"] == 8
    run = only_run(http)
    got = metric_points(http, run["id"])
    want = expected_points((r["step"], r["logs"]) for r in logged)
    assert_same_points(got, want)
