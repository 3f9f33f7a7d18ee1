"""``trainboard run`` turns what an unmodified program prints (and the TensorBoard files it writes) into metrics.

Through a real ``trainboard serve`` and the real CLI: HF ``Trainer`` on a tiny BERT built from a config, Keras 3
(torch backend) ``fit(verbose=1)``, a traceback, ``--no-parse-metrics``, the SDK's own key winning, and
``torch.utils.tensorboard.SummaryWriter``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.support.servers import ServerProcess

HF_SCRIPT = r"""
import json, sys
import torch
from transformers import BertConfig, BertForSequenceClassification, Trainer, TrainingArguments

torch.manual_seed(0)
config = BertConfig(vocab_size=50, hidden_size=8, num_hidden_layers=1, num_attention_heads=1, intermediate_size=8,
                    max_position_embeddings=16, num_labels=2)
model = BertForSequenceClassification(config)


class Data(torch.utils.data.Dataset):
    def __len__(self):
        return 16

    def __getitem__(self, i):
        g = torch.Generator().manual_seed(i)
        return {"input_ids": torch.randint(0, 50, (8,), generator=g), "labels": torch.tensor(i % 2)}


args = TrainingArguments(output_dir="out", per_device_train_batch_size=4, num_train_epochs=2, logging_steps=1,
                         eval_strategy="epoch", report_to="none", save_strategy="no", use_cpu=True)
trainer = Trainer(model=model, args=args, train_dataset=Data(), eval_dataset=Data())
trainer.train()
json.dump(trainer.state.log_history, open("history.json", "w"))
"""

KERAS_SCRIPT = r"""
import json, os
os.environ["KERAS_BACKEND"] = "torch"
import numpy as np
import keras

keras.utils.set_random_seed(0)
x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
y = (x.sum(axis=1) > 0).astype("float32")
model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"),
                          keras.layers.Dense(1, activation="sigmoid")])
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
history = model.fit(x, y, epochs=3, batch_size=16, validation_split=0.25, verbose=1)
json.dump(history.history, open("history.json", "w"))
"""


def trainboard_run(server: ServerProcess, cwd: Path, script: str, *args: str) -> subprocess.CompletedProcess[bytes]:
    (cwd / "train.py").write_text(script)
    env = server.env() | {"TRAINBOARD_DATA": str(cwd / "client"), "KERAS_BACKEND": "torch"}
    cmd = [sys.executable, "-m", "trainboard.cli", "run", *args, "--", sys.executable, "train.py"]
    # stdout and stderr to one place, as in a terminal: one pseudo-terminal, so what the program writes to the two
    # (HF's dicts and its progress bar) is recorded in the order written, not in the order two readers got to it
    done = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=cwd, timeout=300)
    done.stderr = done.stdout  # both streams are in stdout
    return done


def newest_run(server: ServerProcess) -> dict[str, Any]:
    run: dict[str, Any] = httpx.get(f"{server.url}/api/runs").json()["runs"][0]
    return run


def charts(server: ServerProcess, run_id: str) -> dict[str, dict[int, float]]:
    """What the charts show: key -> {step: value}."""
    data = httpx.get(f"{server.url}/api/runs/{run_id}/metrics").json()["metrics"]
    return {k: dict(zip(s["step"], s["value"], strict=True)) for k, s in data.items() if not k.startswith("sys/")}


def printed(value: float) -> float:
    """HF prints 4 significant digits."""
    return float(f"{value:.4g}")


def test_unmodified_hf_trainer_script_gets_charts_at_its_steps(server: ServerProcess, tmp_path: Path) -> None:
    pytest.importorskip("transformers")
    done = trainboard_run(server, tmp_path, HF_SCRIPT)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    run = newest_run(server)
    got = charts(server, run["id"])
    history = json.loads((tmp_path / "history.json").read_text())
    train = [h for h in history if "loss" in h]
    evals = [h for h in history if "eval_loss" in h]
    assert len(train) == 8 and len(evals) == 2
    for key in ("loss", "grad_norm", "learning_rate"):
        assert got[key] == {h["step"]: pytest.approx(printed(h[key]), rel=1e-9) for h in train}
    assert got["eval_loss"] == {h["step"]: pytest.approx(printed(h["eval_loss"]), rel=1e-9) for h in evals}
    assert {"loss", "eval_loss", "learning_rate"} <= set(run["config"]["trainboard.parsed_keys"])
    assert run["status"] == "completed"


def test_keras_fit_epoch_lines_become_metrics_per_epoch(server: ServerProcess, tmp_path: Path) -> None:
    if find_spec("keras") is None:  # (importing it here would need its backend chosen first)
        pytest.skip("keras is not installed")
    done = trainboard_run(server, tmp_path, KERAS_SCRIPT)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    got = charts(server, newest_run(server)["id"])
    history = json.loads((tmp_path / "history.json").read_text())
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        expected = {epoch: pytest.approx(v, abs=6e-5) for epoch, v in enumerate(history[key])}
        assert got[key] == expected  # printed with 4 decimals, at Keras' own epoch ("Epoch 2/3" -> History's 1)


TRACEBACK_SCRIPT = r"""
print("step=1 loss=1.5", flush=True)
def train():
    loss = 7.0  # loss=7.0 on a source line shown in the traceback
    raise ValueError(f"loss={loss} diverged")
train()
"""


def test_metric_lookalikes_inside_a_traceback_are_not_parsed(server: ServerProcess, tmp_path: Path) -> None:
    done = trainboard_run(server, tmp_path, TRACEBACK_SCRIPT)
    assert done.returncode == 1 and b"ValueError: loss=7.0 diverged" in done.stderr
    assert charts(server, newest_run(server)["id"]) == {"loss": {1: 1.5}}


def test_no_parse_metrics_records_no_metrics(server: ServerProcess, tmp_path: Path) -> None:
    done = trainboard_run(
        server, tmp_path, "print('step=1 loss=1.5')\nprint('step=2 loss=1.0')\n", "--no-parse-metrics"
    )
    assert done.returncode == 0 and b"step=2 loss=1.0" in done.stdout  # still mirrored and recorded
    run = newest_run(server)
    assert charts(server, run["id"]) == {}
    assert "trainboard.parsed_keys" not in run["config"]


SDK_SCRIPT = r"""
import trainboard
monitor = trainboard.init(run_name="ignored")
for step in range(1, 4):
    monitor.log_metrics({"loss": 10.0 * step}, step=step)
    print(f"step={step} loss=0.{step} acc=0.{step + 5}", flush=True)
monitor.finish()
"""


def test_a_key_the_sdk_logs_is_never_overridden_by_parsing(server: ServerProcess, tmp_path: Path) -> None:
    done = trainboard_run(server, tmp_path, SDK_SCRIPT)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    run = newest_run(server)
    got = charts(server, run["id"])
    assert got["loss"] == {1: 10.0, 2: 20.0, 3: 30.0}
    assert got["acc"] == {1: 0.6, 2: 0.7, 3: 0.8}
    assert run["config"]["trainboard.parsed_keys"] == ["acc"]


TB_SCRIPT = r"""
import json, time
from torch.utils.tensorboard import SummaryWriter
writer = SummaryWriter("runs/exp")
written = []
for step in (0, 5, 10):
    wall = time.time()
    writer.add_scalar("train/loss", 1.0 / (step + 1), step, walltime=wall)
    written.append([step, wall])
    writer.flush()
    time.sleep(1.2)
writer.close()
json.dump(written, open("written.json", "w"))
"""


def test_tensorboard_event_files_written_during_the_run_are_followed(server: ServerProcess, tmp_path: Path) -> None:
    pytest.importorskip("tensorboard")
    pytest.importorskip("torch")
    done = trainboard_run(server, tmp_path, TB_SCRIPT)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    run_id = newest_run(server)["id"]
    series = httpx.get(f"{server.url}/api/runs/{run_id}/metrics", params={"keys": "train/loss"}).json()["metrics"]
    written = json.loads((tmp_path / "written.json").read_text())
    assert series["train/loss"]["step"] == [0, 5, 10]
    assert series["train/loss"]["value"] == pytest.approx([1.0, 1 / 6, 1 / 11], rel=1e-6)  # stored as float32
    assert series["train/loss"]["timestamp"] == pytest.approx([w for _, w in written], abs=1e-3)
    assert os.path.isdir(tmp_path / "runs" / "exp")


BOTH_SCRIPT = r"""
import json
from torch.utils.tensorboard import SummaryWriter
writer = SummaryWriter("runs/exp")  # (default flush_secs=120: the scalars reach the file when it is closed)
written = []
for step in range(1, 6):
    loss = 1.0 / (step + 2)
    writer.add_scalar("loss", loss, step)
    print(f"step={step} loss={loss:.3f} acc={step / 8}", flush=True)
    written.append([step, loss])
writer.close()
json.dump(written, open("written.json", "w"))
"""


def test_a_key_printed_and_written_to_tensorboard_comes_from_the_files_only(
    server: ServerProcess, tmp_path: Path
) -> None:
    np = pytest.importorskip("numpy")
    pytest.importorskip("tensorboard")
    pytest.importorskip("torch")
    done = trainboard_run(server, tmp_path, BOTH_SCRIPT)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert b"loss=0.333" in done.stdout
    run = newest_run(server)
    series = httpx.get(f"{server.url}/api/runs/{run['id']}/metrics").json()["metrics"]
    written = json.loads((tmp_path / "written.json").read_text())
    assert series["loss"]["step"] == [s for s, _ in written]  # no extra point, nothing printed at the same steps
    assert series["loss"]["value"] == [float(np.float32(v)) for _, v in written]  # the file's float32, not 0.333
    assert series["loss"]["parsed"] is None
    assert series["acc"]["value"] == [s / 8 for s, _ in written]  # printed only: parsed
    assert series["acc"]["parsed"] == {"source": "printed_text", "significant_digits": 3}
    assert run["config"]["trainboard.parsed_digits"] == {"acc": 3}
