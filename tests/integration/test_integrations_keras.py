"""Keras 3 (torch backend) with ``TrainboardCallback`` on a tiny ``Sequential``, in a subprocess against a real
server: epoch values equal Keras' ``History``, batch values are logged every N batches, a later
``evaluate`` lands, the model config and summary are the run's config, the run is completed; SIGKILLed
mid-training, the metrics up to the kill are there after ``trainboard sync``."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import httpx
import pytest
from tests.support.integrations import (
    assert_same_points,
    expected_points,
    metric_points,
    only_run,
    records,
    run_script,
    run_until_kill,
    script_env,
    sync,
)
from tests.support.servers import ServerProcess

#: The SDK is what is under test here, not the database: SQLite only.
pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

if importlib.util.find_spec("keras") is None:  # not imported here: without KERAS_BACKEND it wants TensorFlow
    pytest.skip("keras is not installed", allow_module_level=True)

SCRIPT = """
import json, os, sys, time
os.environ.setdefault("KERAS_BACKEND", "torch")
import numpy as np
import keras
from trainboard.integrations.keras import TrainboardCallback

KILL = len(sys.argv) > 1 and sys.argv[1] == "kill"

class Report(keras.callbacks.Callback):  # after trainboard's: prints what it was given
    def __init__(self):
        super().__init__()
        self.batches = 0
    def on_train_batch_end(self, batch, logs=None):
        self.batches += 1
        if self.batches % 3 == 0:
            values = {"batch/" + k: float(v) for k, v in logs.items()}
            print("RECORD " + json.dumps({"step": self.batches, "logs": values}), flush=True)
    def on_epoch_end(self, epoch, logs=None):
        print("RECORD " + json.dumps({"step": epoch, "logs": {k: float(v) for k, v in logs.items()}}), flush=True)
        if KILL and epoch == 1:
            time.sleep(0.5)  # five times the SDK's documented journal latency
            print("KILL_ME", flush=True)
            time.sleep(60)

keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)
x = rng.normal(size=(64, 4)).astype("float32")
y = x.sum(axis=1, keepdims=True)
model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu", name="hidden"),
                          keras.layers.Dense(1, name="out")], name="tiny")
model.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse", metrics=["mae"])
history = model.fit(x, y, epochs=4, batch_size=16, validation_split=0.25, verbose=0,
                    callbacks=[board := TrainboardCallback(run_name="tiny-keras", log_every_n_batches=3), Report()])
test = model.evaluate(x, y, verbose=0, return_dict=True, callbacks=[board])  # lands after fit ended
json.dump({"history": history.history, "epochs": history.epoch, "test": test}, open("history.json", "w"))
"""


def test_fit_matches_history(server: ServerProcess, http: httpx.Client, tmp_path: Path) -> None:
    proc = run_script(server, tmp_path, SCRIPT)
    saved = json.loads((tmp_path / "history.json").read_text())
    history, epochs = saved["history"], saved["epochs"]
    want = expected_points((epoch, {k: v[i] for k, v in history.items()}) for i, epoch in enumerate(epochs))
    assert {"loss", "val_loss", "mae", "val_mae"} <= {k for k, _ in want}
    batch = expected_points(
        (r["step"], r["logs"])
        for r in records(proc.stdout.splitlines())
        if any(k.startswith("batch/") for k in r["logs"])
    )
    assert {step for _, step in batch} == {3, 6, 9, 12}  # 3 batches an epoch, 4 epochs, every 3rd
    test = expected_points([(epochs[-1], {f"test/{k}": v for k, v in saved["test"].items()})])
    run = only_run(http)
    assert run["status"] == "completed" and run["exit_code"] == 0 and run["name"] == "tiny-keras"
    assert_same_points(metric_points(http, run["id"]), want | batch | test)
    config = run["config"]
    assert [layer["config"]["name"] for layer in config["model"]["layers"]][-2:] == ["hidden", "out"]
    assert "hidden" in config["model_summary"] and "Total params" in config["model_summary"]
    assert config["params"]["epochs"] == 4


def test_killed_fit_keeps_metrics_up_to_the_kill(server: ServerProcess, http: httpx.Client, tmp_path: Path) -> None:
    lines = run_until_kill(server, tmp_path, SCRIPT, "kill")
    sync(server, tmp_path)
    logged = records(lines)
    assert [r["step"] for r in logged if "loss" in r["logs"]] == [0, 1]
    run = only_run(http)
    assert_same_points(metric_points(http, run["id"]), expected_points((r["step"], r["logs"]) for r in logged))


def test_inside_trainboard_run_it_logs_to_that_run(server: ServerProcess, http: httpx.Client, tmp_path: Path) -> None:
    """Under ``trainboard run`` the callback attaches to the runner's run (``TRAINBOARD_RUN_ID``): one run, the
    runner's name, the callback's metrics and config in it, ended by the runner with the exit code."""
    import subprocess
    import sys

    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    argv = [sys.executable, "-m", "trainboard.cli", "run", "--name", "wrapped", "--no-parse-metrics", "--"]
    done = subprocess.run(
        [*argv, sys.executable, str(script)],
        cwd=tmp_path,
        env=script_env(server, tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    saved = json.loads((tmp_path / "history.json").read_text())
    run = only_run(http)
    assert run["name"] == "wrapped" and run["status"] == "completed" and run["exit_code"] == 0
    points = metric_points(http, run["id"])
    assert {s: v for (k, s), v in points.items() if k == "loss"} == dict(enumerate(saved["history"]["loss"]))
    assert "model_summary" in run["config"]


def test_only_rank_zero_logs(server: ServerProcess, http: httpx.Client, tmp_path: Path) -> None:
    run_script(server, tmp_path, SCRIPT, RANK="1")
    assert http.get("/api/runs").json()["runs"] == []
