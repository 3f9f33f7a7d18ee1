"""Lightning with ``TrainboardLogger`` next to ``CSVLogger`` on a tiny module, in a subprocess against a real
server: what trainboard stored equals CSVLogger's metrics.csv (a ``trainer.test()`` after ``fit`` included),
the hyper-parameters are the config, every ``ModelCheckpoint`` file is registered, the run is completed;
SIGKILLed mid-training, the metrics up to the kill are there after ``trainboard sync``."""

from __future__ import annotations

import csv
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

pytest.importorskip("lightning")

SCRIPT = """
import json, sys, time
import torch
from torch.utils.data import DataLoader, TensorDataset
import lightning.pytorch as pl
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger
from trainboard.integrations.lightning import TrainboardLogger

KILL = len(sys.argv) > 1 and sys.argv[1] == "kill"

class Tiny(pl.LightningModule):
    def __init__(self, lr=0.05, hidden=8):
        super().__init__()
        self.save_hyperparameters()
        self.net = torch.nn.Sequential(torch.nn.Linear(4, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 1))
    def training_step(self, batch, i):
        x, y = batch
        loss = torch.nn.functional.mse_loss(self.net(x), y)
        self.log("train_loss", loss)
        return loss
    def validation_step(self, batch, i):
        x, y = batch
        self.log("val_loss", torch.nn.functional.mse_loss(self.net(x), y))
    def test_step(self, batch, i):
        x, y = batch
        self.log("test_loss", torch.nn.functional.mse_loss(self.net(x), y))
    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)

class Report(pl.Callback):
    def on_train_batch_end(self, trainer, module, outputs, batch, i):
        if KILL and trainer.global_step >= 12:
            time.sleep(0.5)  # five times the SDK's documented journal latency
            print("KILL_ME", flush=True)
            time.sleep(60)

g = torch.Generator().manual_seed(0)
x = torch.randn(64, 4, generator=g)
y = x.sum(1, keepdim=True)
data = lambda: DataLoader(TensorDataset(x, y), batch_size=8)
torch.manual_seed(0)
csv_logger = CSVLogger("logs", name="tiny")
board = TrainboardLogger(name="tiny-lightning")
if KILL:  # report every logged dict (after trainboard has it)
    original = board.log_metrics
    def log_metrics(metrics, step=None):
        original(metrics, step)
        print("RECORD " + json.dumps({"step": step, "logs": {k: float(v) for k, v in metrics.items()}}), flush=True)
    board.log_metrics = log_metrics
trainer = pl.Trainer(max_epochs=3, logger=[board, csv_logger], log_every_n_steps=2, enable_progress_bar=False,
                     enable_model_summary=False, accelerator="cpu", devices=1,
                     callbacks=[ModelCheckpoint(dirpath="ckpt", monitor="val_loss", save_top_k=-1), Report()])
model = Tiny()
trainer.fit(model, data(), data())
trainer.test(model, data())
print("CSV", csv_logger.log_dir)
"""


def csv_points(path: Path) -> dict[tuple[str, int], float]:
    with path.open() as fh:
        rows = list(csv.DictReader(fh))
    return expected_points((int(r["step"]), {k: float(v) for k, v in r.items() if v != ""}) for r in rows)


def test_logger_next_to_csvlogger(server: ServerProcess, http: httpx.Client, tmp_path: Path) -> None:
    proc = run_script(server, tmp_path, SCRIPT)
    log_dir = Path(next(line for line in proc.stdout.splitlines() if line.startswith("CSV ")).split(" ", 1)[1])
    want = csv_points(tmp_path / log_dir / "metrics.csv")
    want = {point: value for point, value in want.items() if point[0] != "step"}
    run = only_run(http)
    assert run["status"] == "completed" and run["exit_code"] == 0 and run["name"] == "tiny-lightning"
    assert_same_points(metric_points(http, run["id"]), want)
    assert any(key == "test_loss" for key, _ in want)
    assert run["config"]["lr"] == 0.05 and run["config"]["hidden"] == 8
    saved = checkpoints(http, run["id"])
    files = sorted((tmp_path / "ckpt").glob("*.ckpt"))
    assert len(files) == 3
    assert sorted(Path(c["path"]) for c in saved) == [f.resolve() for f in files]
    assert all(c["valid"] and "val_loss" in c["metrics"] for c in saved)
    assert [c["step"] for c in saved] == [8, 16, 24]


def test_killed_fit_keeps_metrics_up_to_the_kill(server: ServerProcess, http: httpx.Client, tmp_path: Path) -> None:
    lines = run_until_kill(server, tmp_path, SCRIPT, "kill")
    sync(server, tmp_path)
    logged = records(lines)
    assert logged and max(r["step"] for r in logged) >= 9
    run = only_run(http)
    assert_same_points(metric_points(http, run["id"]), expected_points((r["step"], r["logs"]) for r in logged))
