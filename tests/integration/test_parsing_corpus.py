"""Parsing measured on held-out real output: unmodified programs of the real frameworks (HF Trainer, Keras,
Lightning, PyTorch with nested tqdm, torchrun with a crashing rank) and a Rich progress display, run under
``trainboard run`` against a real server, their output captured in the test run (the corpus is generated here,
not written by hand), and what trainboard stored compared with each program's own records.

For every program: zero invented keys (every stored key is one the framework reports itself, an ``evaluate()``
after training under ``evaluate/``), zero values that differ from the framework's at their step (an overwrite
shows as one), and steps equal to the framework's own numbering (HF's global step, Keras' 0-based epochs,
a script's printed ``step=``). Also: every key the framework printed is there, its printed precision is in the
run's config and the metrics API, and Lightning gives the same points at 80 and 200 columns. A few seconds of
training each.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterable
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import pytest
from tests.support.integrations import metric_points, script_env
from tests.support.servers import ServerProcess, free_port

#: What is under test is the parser, not the database: SQLite only.
pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

Points = dict[tuple[str, int], float]

HF = r"""
import json
import torch
from transformers import BertConfig, BertForSequenceClassification, Trainer, TrainingArguments

torch.manual_seed(0)
config = BertConfig(vocab_size=50, hidden_size=8, num_hidden_layers=1, num_attention_heads=1, intermediate_size=8,
                    max_position_embeddings=16, num_labels=2)
model = BertForSequenceClassification(config)

class Data(torch.utils.data.Dataset):
    def __len__(self):
        return 32
    def __getitem__(self, i):
        g = torch.Generator().manual_seed(i)
        return {"input_ids": torch.randint(0, 50, (8,), generator=g), "labels": torch.tensor(i % 2)}

args = TrainingArguments(output_dir="out", per_device_train_batch_size=4, num_train_epochs=3, logging_steps=5,
                         eval_strategy="epoch", report_to="none", save_strategy="no", use_cpu=True)
trainer = Trainer(model=model, args=args, train_dataset=Data(), eval_dataset=Data())
trainer.train()
final = trainer.evaluate()
json.dump({"log_history": trainer.state.log_history, "evaluate": final}, open("record.json", "w"))
"""

KERAS = r"""
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
model.summary()
history = model.fit(x, y, epochs=4, batch_size=16, validation_split=0.25, verbose=1)
final = model.evaluate(x, y, batch_size=16, verbose=1, return_dict=True)
again = model.evaluate(x[:32], y[:32], batch_size=16, verbose=1, return_dict=True)  # (a second set: other values)
record = {"history": history.history, "epochs": history.epoch, "evaluate": [final, again]}
json.dump(record, open("record.json", "w"))
"""

#: HF without its progress bar (``disable_tqdm``: its PrinterCallback prints every log, a later ``evaluate()``'s too),
#: a dict per step, and ``evaluate()`` twice after training
HF_NO_BAR = HF.replace("logging_steps=5,", "logging_steps=1, disable_tqdm=True,").replace(
    "final = trainer.evaluate()", "final = [trainer.evaluate(), trainer.evaluate()]"
)

LIGHTNING = r"""
import torch
from torch.utils.data import DataLoader, TensorDataset
import lightning.pytorch as pl

class Tiny(pl.LightningModule):
    def __init__(self):
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
    def training_step(self, batch, i):
        x, y = batch
        loss = torch.nn.functional.mse_loss(self.net(x), y)
        self.log("train_loss", loss, prog_bar=True)
        return loss
    def validation_step(self, batch, i):
        x, y = batch
        loss = torch.nn.functional.mse_loss(self.net(x), y)
        self.log("val_loss", loss, prog_bar=True)
        self.log("val_acc", (loss < 1).float(), prog_bar=True)
    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.05)

g = torch.Generator().manual_seed(0)
x = torch.randn(64, 4, generator=g)
y = x.sum(1, keepdim=True)
data = lambda: DataLoader(TensorDataset(x, y), batch_size=8)
torch.manual_seed(0)
trainer = pl.Trainer(max_epochs=3, log_every_n_steps=2, accelerator="cpu", devices=1)  # default logger and bar
trainer.fit(Tiny(), data(), data())
"""

PLAIN = r"""
import json
import torch
from tqdm import tqdm

torch.manual_seed(0)
model = torch.nn.Linear(4, 1)
opt = torch.optim.SGD(model.parameters(), lr=0.1)
x = torch.randn(64, 4)
y = x.sum(1, keepdim=True)
record, step = [], 0
for epoch in tqdm(range(3), desc="epoch"):
    bar = tqdm(range(8), desc="batch", leave=False)
    for i in bar:
        loss = torch.nn.functional.mse_loss(model(x[i * 8 : (i + 1) * 8]), y[i * 8 : (i + 1) * 8])
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
        bar.set_postfix(loss=f"{loss.item():.4f}")
        if step % 5 == 0:
            tqdm.write(f"step={step} loss={loss.item():.6f}")
            record.append({"step": step, "loss": loss.item()})
        if step == 12:  # a print while the bars are drawn: on the outer bar's line, right after it
            print(f"step={step} lr=0.1", flush=True)
            record.append({"step": step, "lr": 0.1})
json.dump(record, open("record.json", "w"))
"""

RICH = r"""
import json, time
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

record = []
columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
           TextColumn("loss={task.fields[loss]:.4f} lr={task.fields[lr]}")]
with Progress(*columns) as progress:
    task = progress.add_task("train", total=20, loss=1.0, lr=0.1)
    for step in range(1, 21):
        loss = 1.0 / step
        progress.update(task, advance=1, loss=loss)
        if step % 5 == 0:
            progress.console.print(f"step={step} loss={loss:.6f}")  # (Rich highlights the numbers)
            record.append({"step": step, "loss": loss})
        time.sleep(0.02)
json.dump(record, open("record.json", "w"))
"""

DDP = r"""
import json
import torch
import torch.distributed as dist

dist.init_process_group("gloo")
rank = dist.get_rank()
torch.manual_seed(0)
model = torch.nn.Linear(4, 1)
record = []
for step in range(1, 4):
    with torch.no_grad():
        loss = torch.nn.functional.mse_loss(model(torch.randn(8, 4)), torch.zeros(8, 1)).item()
    if rank == 0:
        print(f"step={step} loss={loss:.6f} port=29500", flush=True)
        record.append({"step": step, "loss": loss})
if rank == 0:
    json.dump(record, open("record.json", "w"))
if rank == 1:
    raise RuntimeError("rank 1 failed on purpose")
dist.destroy_process_group()
"""


def record_run(
    server: ServerProcess, cwd: Path, script: str, *, columns: int = 80, launcher: Iterable[str] = ()
) -> tuple[subprocess.CompletedProcess[bytes], dict[str, Any]]:
    """``trainboard run -- python [launcher] train.py`` at ``columns`` columns; the run it recorded."""
    cwd.mkdir(parents=True, exist_ok=True)
    (cwd / "train.py").write_text(script)
    env = script_env(server, cwd, COLUMNS=str(columns), LINES="40")
    cmd = [sys.executable, "-m", "trainboard.cli", "run", "--system-interval", "0", "--"]
    cmd += [sys.executable, *launcher, "train.py"]
    # stdout and stderr to one place, as in a terminal: trainboard run then gives them one pseudo-terminal and
    # records them in the order written (HF's dicts on stdout and its bar on stderr interleave exactly); on two
    # pipes each stream gets its own terminal and which is read first is up to the scheduler
    done = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
    done.stderr = done.stdout  # both streams are in stdout
    with server.client() as http:
        runs = http.get("/api/runs").json()["runs"]
    run = max(runs, key=lambda r: r["start_time"])
    return done, run


def stored(server: ServerProcess, run_id: str) -> Points:
    with server.client() as http:
        return metric_points(http, run_id)


def origins(server: ServerProcess, run_id: str) -> dict[str, Any]:
    """What the metrics API says of each key's origin (``parsed``: read from printed text, and how precise)."""
    with server.client() as http:
        history = http.get(f"/api/runs/{run_id}/metrics").json()["metrics"]
    return {key: series["parsed"] for key, series in history.items() if not key.startswith("sys/")}


def printed(value: float) -> Any:
    """What a value printed by a framework (4 significant digits or 4 decimals) reads back as."""
    return pytest.approx(value, rel=5e-4, abs=5e-5)


def check(got: Points, want: Points, *, exact: bool = False) -> dict[str, list[Any]]:
    """The failures of ``got`` against the framework's own records ``want``: invented keys, points at steps the
    framework does not have for the key, values that differ from the framework's at their step, and keys the
    framework printed that are missing."""
    keys = {k for k, _ in want}
    invented = sorted({k for k, _ in got} - keys)
    wrong_step = sorted(p for p in got if p[0] in keys and p not in want)
    wrong_value = sorted(
        (p, got[p], want[p])
        for p in got
        if p in want and got[p] != (pytest.approx(want[p], rel=1e-6) if exact else printed(want[p]))
    )
    missing = sorted(keys - {k for k, _ in got})
    return {"invented": invented, "wrong_step": wrong_step, "wrong_value": wrong_value, "missing": missing}


CLEAN: dict[str, list[Any]] = {"invented": [], "wrong_step": [], "wrong_value": [], "missing": []}


def assert_precision_noted(run: dict[str, Any], got: Points, digits: int) -> None:
    """Every parsed key is listed as parsed, with the digits it was printed with."""
    keys = {k for k, _ in got}
    assert set(run["config"]["trainboard.parsed_keys"]) == keys
    noted = run["config"]["trainboard.parsed_digits"]
    assert {k: noted[k] for k in keys} == dict.fromkeys(keys, digits)


def test_hf_trainer(server: ServerProcess, tmp_path: Path) -> None:
    pytest.importorskip("transformers")
    done, run = record_run(server, tmp_path, HF)
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    record = json.loads((tmp_path / "record.json").read_text())
    want: Points = {}
    for entry in record["log_history"]:
        for key, value in entry.items():
            if key not in ("step", "total_flos") and isinstance(value, int | float):
                want[(key, entry["step"])] = float(value)  # (HF prints every key but total_flos)
    # HF's training bar is gone when evaluate() runs after train(): nothing printed, nothing stored
    assert [e for e in record["log_history"] if "eval_loss" in e][-1]["eval_runtime"] == record["evaluate"][
        "eval_runtime"
    ]
    last_eval_in_fit = [e for e in record["log_history"] if "eval_loss" in e][-2]
    want[("eval_runtime", last_eval_in_fit["step"])] = last_eval_in_fit["eval_runtime"]
    for key in ("eval_loss", "eval_samples_per_second", "eval_steps_per_second"):
        want[(key, last_eval_in_fit["step"])] = last_eval_in_fit[key]
    got = stored(server, run["id"])
    assert {s for k, s in got if k == "loss"} == {5, 10, 15, 20}  # HF's global steps (logging_steps=5)
    assert check(got, want) == CLEAN
    assert run["config"]["trainboard.parsed_digits"]["loss"] == 4
    said = origins(server, run["id"])
    assert said["loss"] == {"source": "printed_text", "significant_digits": 4}  # (HF prints 4 digits)
    assert all(origin["source"] == "printed_text" for origin in said.values())


def test_hf_trainer_without_its_bar_then_evaluate_twice(server: ServerProcess, tmp_path: Path) -> None:
    """The epoch-3 evaluation keeps its values (``eval_runtime`` of the epoch, not of a later ``evaluate()``); each
    later ``evaluate()`` is recorded under ``evaluate/`` at the final step, the second one step after the first."""
    pytest.importorskip("transformers")
    done, run = record_run(server, tmp_path, HF_NO_BAR)
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    record = json.loads((tmp_path / "record.json").read_text())
    history = record["log_history"]
    summary = next(i for i, e in enumerate(history) if "train_runtime" in e)
    want: Points = {}
    for entry in history[: summary + 1]:
        for key, value in entry.items():
            if key not in ("step", "total_flos") and isinstance(value, int | float):
                want[(key, entry["step"])] = float(value)
    final_step = history[summary]["step"]
    assert len(history[summary + 1 :]) == 2 and [e["eval_runtime"] for e in history[summary + 1 :]] == [
        e["eval_runtime"] for e in record["evaluate"]
    ]
    for n, evaluation in enumerate(record["evaluate"]):
        want |= {("evaluate/" + k, final_step + n): v for k, v in evaluation.items() if k.startswith("eval_")}
    got = stored(server, run["id"])
    assert {s for k, s in got if k == "loss"} == set(range(1, final_step + 1))  # (logging_steps=1: dict n, step n)
    assert check(got, want) == CLEAN
    fit_eval = [e for e in history[:summary] if "eval_runtime" in e][-1]
    assert got[("eval_runtime", final_step)] == printed(fit_eval["eval_runtime"])  # not overwritten by evaluate()


def test_keras_fit_then_evaluate(server: ServerProcess, tmp_path: Path) -> None:
    if find_spec("keras") is None:
        pytest.skip("keras is not installed")
    done, run = record_run(server, tmp_path, KERAS)
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    record = json.loads((tmp_path / "record.json").read_text())
    want: Points = {
        (key, epoch): value
        for key, values in record["history"].items()
        for epoch, value in zip(record["epochs"], values, strict=True)
    }
    last = record["epochs"][-1]
    for n, evaluation in enumerate(record["evaluate"]):  # each evaluate() after fit: its own step, none overwritten
        want |= {("evaluate/" + key, last + n): value for key, value in evaluation.items()}
    got = stored(server, run["id"])
    assert {s for k, s in got if k == "loss"} == {0, 1, 2, 3}  # History.epoch
    assert check(got, want) == CLEAN  # the model summary's "params" is not a metric
    assert got[("loss", last)] == printed(record["history"]["loss"][-1])  # not evaluate()'s loss


def lightning_events(folder: Path) -> Points:
    """Lightning's own record: the scalars of the TensorBoard files its default logger wrote."""
    from trainboard.sdk.tb_follow import event_files, open_loader, scalar_events, tag_key

    out: Points = {}
    for path in event_files(folder):
        for tag, step, _wall, value in scalar_events(open_loader(path)):
            out[(tag_key(tag, path.parent), step)] = value
    return out


def test_lightning_banner_summary_and_bars_at_80_and_200_columns(server: ServerProcess, tmp_path: Path) -> None:
    pytest.importorskip("lightning")
    pytest.importorskip("tensorboard")
    seen: list[Points] = []
    for columns in (80, 200):
        cwd = tmp_path / str(columns)
        done, run = record_run(server, cwd, LIGHTNING, columns=columns)
        assert done.returncode == 0, done.stderr.decode()[-3000:]
        assert b"Total params" in done.stdout + done.stderr and b"train_loss" in done.stdout + done.stderr
        want = lightning_events(cwd / "lightning_logs")
        got = stored(server, run["id"])
        assert check(got, want, exact=True) == CLEAN  # no using/params/mode/FLOPs, no bar values at epoch steps
        assert "trainboard.parsed_digits" not in run["config"]  # all from its TensorBoard files, none from text
        assert set(origins(server, run["id"]).values()) == {None}
        seen.append(got)
    assert set(seen[0]) == set(seen[1])


def test_plain_pytorch_with_nested_tqdm(server: ServerProcess, tmp_path: Path) -> None:
    done, run = record_run(server, tmp_path, PLAIN)
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    want: Points = {}
    for entry in json.loads((tmp_path / "record.json").read_text()):
        want |= {(k, entry["step"]): v for k, v in entry.items() if k != "step"}
    got = stored(server, run["id"])
    # the bars' postfix loss (no step) and counters (epoch 0/3, batch n/8) are not points; step=12 is not 36 %
    assert check(got, want, exact=False) == CLEAN
    assert sorted(got) == sorted(want)
    assert run["config"]["trainboard.parsed_digits"] == {"loss": 6, "lr": 1}  # (0.944554 and 0.1)


def test_a_rich_progress_display(server: ServerProcess, tmp_path: Path) -> None:
    pytest.importorskip("rich")
    done, run = record_run(server, tmp_path, RICH)
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    assert b"lr=0.1" in done.stdout + done.stderr
    want = {("loss", e["step"]): e["loss"] for e in json.loads((tmp_path / "record.json").read_text())}
    got = stored(server, run["id"])
    assert check(got, want) == CLEAN  # the bar's own loss= and lr= (no step) are not points
    assert sorted(got) == sorted(want)


def test_torchrun_with_a_crashing_rank(server: ServerProcess, tmp_path: Path) -> None:
    pytest.importorskip("torch")
    launcher = ["-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", str(free_port())]
    done, run = record_run(server, tmp_path, DDP, launcher=launcher)
    assert done.returncode == 1 and run["status"] == "failed"
    assert b"exitcode" in done.stdout + done.stderr and b"pid" in done.stdout + done.stderr
    want: Points = {}
    for entry in json.loads((tmp_path / "record.json").read_text()):
        want[("loss", entry["step"])] = entry["loss"]
    got = stored(server, run["id"])
    assert check(got, want) == CLEAN  # no exitcode, local_rank, pid, port, nor a file path holding line numbers
    assert_precision_noted(run, got, digits=6)
    assert origins(server, run["id"]) == {"loss": {"source": "printed_text", "significant_digits": 6}}
