"""What each framework integration costs per training step: the same tiny training with and without the
callback / logger (logging every step, the worst case), against a real server; medians of 3, interleaved.

Prints seconds per step without and with the integration and their ratio, for HF ``Trainer`` (tiny BERT),
Lightning (a small MLP; the baseline has Lightning's ``DummyLogger``) and Keras 3 (torch backend, a small
Sequential). The timed span includes the integration's fixed costs (starting the run, the flush at the end
of training, which waits for the server's acknowledgement), spread over these short trainings.
Run: ``python bench/integration_overhead.py [hf] [lightning] [keras]``.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("KERAS_BACKEND", "torch")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from _server import running_server

ROUNDS = 3


def hf(steps: int, callback: Any) -> float:
    import torch
    from transformers import BertConfig, BertForSequenceClassification, Trainer, TrainingArguments

    class Data(torch.utils.data.Dataset[dict[str, torch.Tensor]]):
        def __len__(self) -> int:
            return 4 * steps

        def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
            return {"input_ids": (torch.arange(8) * (i + 1)) % 100, "labels": torch.tensor(i % 2)}

    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=100, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32
    )
    with tempfile.TemporaryDirectory() as out:
        args = TrainingArguments(
            output_dir=out, max_steps=steps, per_device_train_batch_size=4, logging_steps=1, report_to=[],
            use_cpu=True, disable_tqdm=True, save_strategy="no",
        )  # fmt: skip
        trainer = Trainer(
            model=BertForSequenceClassification(config), args=args, train_dataset=Data(),
            callbacks=[callback] if callback else [],
        )  # fmt: skip
        t0 = time.perf_counter()
        trainer.train()
        return time.perf_counter() - t0


def lightning(steps: int, logger: Any) -> float:
    import lightning.pytorch as pl
    import torch

    class Module(pl.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.net = torch.nn.Sequential(torch.nn.Linear(32, 64), torch.nn.ReLU(), torch.nn.Linear(64, 1))

        def training_step(self, batch: Any, i: int) -> torch.Tensor:
            loss = torch.nn.functional.mse_loss(self.net(batch[0]), batch[1])
            self.log("train_loss", loss)
            return loss

        def configure_optimizers(self) -> torch.optim.Optimizer:
            return torch.optim.SGD(self.parameters(), lr=0.01)

    x = torch.randn(steps * 8, 32)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, x.sum(1, keepdim=True)), batch_size=8)
    from lightning.pytorch.loggers.logger import DummyLogger

    # the baseline has a logger that does nothing: Lightning's own per-step logging work is in both
    trainer = pl.Trainer(
        max_epochs=1, logger=logger if logger else DummyLogger(), log_every_n_steps=1, enable_progress_bar=False,
        enable_model_summary=False, enable_checkpointing=False, accelerator="cpu", devices=1,
    )  # fmt: skip
    t0 = time.perf_counter()
    trainer.fit(Module(), loader)
    return time.perf_counter() - t0


def keras_fit(steps: int, callback: Any) -> float:
    import keras
    import numpy as np

    x = np.random.default_rng(0).normal(size=(steps * 8, 32)).astype("float32")
    model = keras.Sequential([keras.Input((32,)), keras.layers.Dense(64, activation="relu"), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    t0 = time.perf_counter()
    model.fit(x, x.sum(axis=1), batch_size=8, epochs=1, verbose=0, callbacks=[callback] if callback else [])
    return time.perf_counter() - t0


def measure(name: str, steps: int, train: Callable[[int, Any], float], make: Callable[[], Any]) -> None:
    train(max(10, steps // 10), None)  # warm-up: imports, first graph
    without, with_ = [], []
    for _ in range(ROUNDS):
        without.append(train(steps, None) / steps)
        integration = make()
        with_.append(train(steps, integration) / steps)
        integration.run.finish()  # while the server is up (the run would otherwise end at exit)
    a, b = statistics.median(without), statistics.median(with_)
    print(f"{name:<12} {steps:>5} steps  without {a * 1e3:8.3f} ms/step  with {b * 1e3:8.3f} ms/step  "
          f"ratio {b / a:5.3f}  (+{(b - a) * 1e6:7.1f} us/step)", flush=True)  # fmt: skip


def main() -> None:
    only = set(sys.argv[1:])
    with running_server() as (url, data):
        kw: dict[str, Any] = {
            "dashboard_url": url, "data_dir": Path(data) / "client", "system_metrics": False,
            "capture_output": False, "flush_timeout": 120,
        }  # fmt: skip
        if not only or "hf" in only:
            from trainboard.integrations.transformers import TrainboardCallback as HFCallback

            measure("transformers", 60, hf, lambda: HFCallback(run_name="bench-hf", **kw))
        if not only or "lightning" in only:
            from trainboard.integrations.lightning import TrainboardLogger

            measure("lightning", 200, lightning, lambda: TrainboardLogger(name="bench-lightning", **kw))
        if not only or "keras" in only:
            from trainboard.integrations.keras import TrainboardCallback as KerasCallback

            measure("keras", 200, keras_fit, lambda: KerasCallback(run_name="bench-keras", log_every_n_batches=1, **kw))


if __name__ == "__main__":
    main()
