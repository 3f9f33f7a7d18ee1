"""Each framework example of the README's "Framework integrations" runs as written (after a prelude that
builds the tiny model and data it names) against a real server, and leaves a completed run with metrics."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import httpx
import pytest
from tests.support.integrations import metric_points, only_run, run_script
from tests.support.servers import ServerProcess

README = Path(__file__).resolve().parents[2] / "README.md"

HF_PRELUDE = """
import torch
from transformers import BertConfig, BertForSequenceClassification, TrainingArguments

class Data(torch.utils.data.Dataset):
    def __len__(self):
        return 16
    def __getitem__(self, i):
        return {"input_ids": torch.arange(8) % 100, "labels": torch.tensor(i % 2)}

model = BertForSequenceClassification(BertConfig(vocab_size=100, hidden_size=16, num_hidden_layers=1,
                                                 num_attention_heads=2, intermediate_size=32))
args = TrainingArguments(output_dir="out", max_steps=4, logging_steps=1, report_to=[], use_cpu=True,
                         disable_tqdm=True, save_strategy="no")
train_ds = eval_ds = Data()
"""

PRELUDES = {
    "HF transformers": ("transformers", HF_PRELUDE),
    "autolog": ("transformers", HF_PRELUDE + "from transformers import Trainer\n"),
    "Lightning": (
        "lightning",
        """
import torch
import lightning.pytorch as pl

class Module(pl.LightningModule):
    def __init__(self):
        super().__init__()
        self.net = torch.nn.Linear(4, 1)
    def training_step(self, batch, i):
        loss = torch.nn.functional.mse_loss(self.net(batch[0]), batch[1])
        self.log("train_loss", loss)
        return loss
    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)

module = Module()
x = torch.randn(256, 4)  # enough steps for Lightning's default log_every_n_steps=50
train_loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, x.sum(1, keepdim=True)), batch_size=4)
""",
    ),
    "Keras 3": (
        "keras",
        """
import numpy as np
import keras

model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
x = np.random.default_rng(0).normal(size=(32, 4)).astype("float32")
y = x.sum(axis=1, keepdims=True)
""",
    ),
    "Coming from wandb": (None, ""),
}


def example(heading: str) -> str:
    section = README.read_text().split("## Framework integrations", 1)[1].split("\n## ", 1)[0]
    found = re.search(rf"### {re.escape(heading)}\s+```python\n(.*?)```", section, re.S)
    assert found is not None, heading
    return found.group(1)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("heading", list(PRELUDES))
def test_readme_example_runs(server: ServerProcess, http: httpx.Client, tmp_path: Path, heading: str) -> None:
    module, prelude = PRELUDES[heading]
    if module is not None and importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not installed")
    code = example(heading)
    assert len(code.strip().splitlines()) <= 6
    run_script(server, tmp_path, prelude + "\n" + code)
    run = only_run(http)
    assert run["status"] == "completed"
    assert metric_points(http, run["id"])
