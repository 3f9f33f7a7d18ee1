"""The wandb shim against wandb itself: one example script as people write it (init with project, tags, notes,
group, job type and settings; a loop logging strings, images, histograms; ``define_metric``; a table and a chart;
a step behind the counter; summary; an artifact; ``finish(exit_code=1)``) run twice — with real wandb offline,
then imported with ``trainboard import wandb``, and unchanged but for the import through the shim against a real
``trainboard serve``. Both runs must hold the same metric points; the shim run must carry what trainboard has
(project, tags, notes, status and exit code, summary, the artifact as a checkpoint, strings as log lines) and say
once, by name, what it did not keep. The names wandb answers only with its servers (``Api``, ``sweep``/``agent``,
``use_artifact``) are checked through the shim alone."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.support.integrations import metric_points, script_env
from tests.support.servers import ServerProcess

#: The SDK side is under test, not the database: SQLite only.
pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

SHIM_IMPORT = "import trainboard.compat.wandb as wandb"

EXAMPLE = r"""
import numpy as np
import torch
import wandb

run = wandb.init(
    project="shim-example",
    name="example",
    config={"lr": 0.01, "epochs": 3},
    tags=["baseline", "cnn"],
    notes="first try",
    group="sweep-a",
    job_type="train",
    settings=wandb.Settings(console="off"),
)
model = torch.nn.Linear(2, 1)
wandb.watch(model, log="all")
wandb.watch(model, log="all")
wandb.define_metric("epoch")
wandb.define_metric("val/*", step_metric="epoch")
table = wandb.Table(columns=["epoch", "pred"])
for epoch in range(3):
    for batch in range(8):
        wandb.log({"train/loss": 1.0 / (epoch * 8 + batch + 1), "phase": "train"})
    table.add_data(epoch, 0.5)
    wandb.log({
        "val/loss": 0.5 / (epoch + 1),
        "val/acc": 0.25 * epoch,
        "epoch": epoch,
        "samples": wandb.Image(np.zeros((4, 4, 3), dtype=np.uint8)),
        "weights": wandb.Histogram([1.0, 2.0, 3.0]),
    })
wandb.log({"preds": table, "curve": wandb.plot.line(table, "epoch", "pred", title="pred")})
wandb.log({"late": 1.0}, step=3)
wandb.termlog("training done")
try:
    raise wandb.errors.CommError("offline")
except wandb.Error:
    pass
run.summary["best_val_loss"] = 0.5 / 3
with open("model.bin", "wb") as fh:
    fh.write(b"weights")
artifact = wandb.Artifact("model", type="model")
artifact.add_file("model.bin")
run.log_artifact(artifact)
print("TAGS", sorted(run.tags))
wandb.finish(exit_code=1)
"""


def by_name(http: httpx.Client) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for r in http.get("/api/runs", params={"limit": 100}).json()["runs"]:
        out.setdefault(r["name"], []).append(r)
    return out


def run_example(server: ServerProcess, folder: Path, code: str, **env: str) -> subprocess.CompletedProcess[str]:
    folder.mkdir()
    (folder / "example.py").write_text(code)
    return subprocess.run(
        [sys.executable, "example.py"],
        cwd=folder,
        env=script_env(server, folder) | env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_example_script_gives_the_run_wandb_records(server: ServerProcess, http: httpx.Client, tmp_path: Path) -> None:
    pytest.importorskip("wandb")
    pytest.importorskip("torch")
    real = run_example(
        server, tmp_path / "real", EXAMPLE, WANDB_MODE="offline", WANDB_SILENT="true", WANDB_DIR=str(tmp_path / "real")
    )
    assert real.returncode == 0, real.stderr[-4000:]
    imported = subprocess.run(
        [sys.executable, "-m", "trainboard.cli", "import", "wandb", str(tmp_path / "real" / "wandb")],
        env=server.env(),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert imported.returncode == 0, imported.stderr
    shim = run_example(server, tmp_path / "shim", EXAMPLE.replace("import wandb", SHIM_IMPORT))
    assert shim.returncode == 0, shim.stdout[-4000:] + shim.stderr[-4000:]

    runs = by_name(http)["example"]
    assert len(runs) == 2
    (wandb_run,) = [r for r in runs if r["config"].get("imported_from") == "wandb"]
    (shim_run,) = [r for r in runs if r is not wandb_run]

    # the same points, step for step, as wandb recorded them
    want = metric_points(http, wandb_run["id"])
    got = metric_points(http, shim_run["id"])
    assert got == want
    assert {s for (k, s) in got if k == "val/loss"} == {8, 17, 26}  # wandb's rows, not the epoch values 0..2
    assert {s for (k, s) in got if k == "epoch"} == {8, 17, 26}  # stored once
    assert not any(k.split("/")[0] in ("samples", "weights", "preds", "curve", "phase", "late") for k, _ in got)

    # what trainboard has, mapped
    for run in (shim_run, wandb_run):
        assert run["project"] == "shim-example"
        assert set(run["tags"]) == {"baseline", "cnn", "group:sweep-a", "job_type:train"}
        assert run["notes"] == "first try"
        assert run["config"]["wandb_group"] == "sweep-a" and run["config"]["wandb_job_type"] == "train"
        assert run["config"]["summary"]["best_val_loss"] == pytest.approx(0.5 / 3)
        assert run["status"] == "failed" and run["exit_code"] == 1
    assert "TAGS ['baseline', 'cnn', 'group:sweep-a', 'job_type:train']" in shim.stdout
    saved = http.get(f"/api/runs/{shim_run['id']}/checkpoints").json()["checkpoints"]
    assert [(Path(c["path"]).name, c["metadata"]["artifact"]) for c in saved] == [("model.bin", "model")]

    # strings as log lines of the run, at their step
    lines = http.get(f"/api/runs/{shim_run['id']}/logs/lines", params={"search": "phase = train"}).json()["lines"]
    assert len(lines) == 24 and "phase = train (step 0)" in str(lines[0])

    # what is not kept: said once by name, and counted in the run
    err = shim.stderr
    assert err.count("trainboard's wandb shim: wandb.watch does nothing here (no gradient histograms yet)") == 1
    assert err.count("trainboard's wandb shim: wandb.plot.line is not recorded here") == 1
    for name in ("wandb.Image", "wandb.Histogram", "wandb.Table"):  # recorded as rich values (below)
        assert f"{name} is not recorded" not in err, name
    assert err.count("Tried to log to step 3 that is less than the current step 28.") == 1
    assert "wandb: training done" in err
    found = http.get(f"/api/runs/{shim_run['id']}/logs/lines", params={"search": "not recorded (trainboard keeps"})
    note = [line for line in found.json()["lines"] if line["source"] not in ("stdout", "stderr")]  # the structured one
    assert len(note) == 1 and note[0]["level"] == "WARNING", found.json()
    assert "1 wandb.plot.line value(s) (curve)" in str(note[0]) and "wandb.Image" not in str(note[0]), note

    # wandb.Image / Histogram / Table: trainboard's rich values at the steps they were logged at
    rich = {k["key"]: (k["kind"], k["steps"]) for k in http.get(f"/api/runs/{shim_run['id']}/rich").json()["keys"]}
    assert rich == {"samples": ("image", [8, 17, 26]), "weights": ("histogram", [8, 17, 26]), "preds": ("table", [27])}
    hist = http.get(f"/api/runs/{shim_run['id']}/rich/weights", params={"step": 8}).json()["histogram"]
    assert sum(hist["counts"]) == 3 and len(hist["counts"]) == 64
    preds = http.get(f"/api/runs/{shim_run['id']}/rich/preds").json()["table"]
    assert [c["name"] for c in preds["columns"]] == ["epoch", "pred"] and preds["rows"] == [
        [0, 0.5],
        [1, 0.5],
        [2, 0.5],
    ]
    image = http.get(f"/api/runs/{shim_run['id']}/rich/samples", params={"step": 26}).json()["image"]
    assert (image["width"], image["height"]) == (4, 4) and http.get(image["url"]).headers["content-type"] == "image/png"


SERVER_ONLY = r"""
import trainboard.compat.wandb as wandb

assert wandb.Api().runs("entity/project") == []
seen = []


def train():
    with wandb.init(project="sweeps", name="swept", config={"lr": 0.1}):
        seen.append(wandb.config.lr)
        wandb.log({"loss": 1.0})


sweep_id = wandb.sweep({"method": "grid", "parameters": {"lr": {"values": [0.1, 0.2]}}}, project="sweeps")
wandb.agent(sweep_id, function=train, count=2)
wandb.agent(sweep_id, function=train, count=2)
assert seen == [0.1, 0.1], seen
run = wandb.init(project="sweeps", name="user")
assert wandb.use_artifact("model:latest").name == "model"
run.use_artifact("data:v1")
run.tags = ["a", "b"]
run.tags = run.tags + ("c",)
run.tags = ("b", "c")
wandb.finish()
"""


def test_names_wandb_serves_from_its_servers_are_present_and_say_so_once(
    server: ServerProcess, http: httpx.Client, tmp_path: Path
) -> None:
    proc = run_example(server, tmp_path / "s", SERVER_ONLY)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    for name in ("wandb.Api does nothing here", "wandb.sweep does nothing here", "wandb.agent runs the function once"):
        assert proc.stderr.count(f"trainboard's wandb shim: {name}") == 1, (name, proc.stderr)
    assert proc.stderr.count("trainboard's wandb shim: wandb.use_artifact does nothing here") == 1
    runs = by_name(http)
    assert [r["status"] for r in runs["swept"]] == ["completed", "completed"]
    assert all(r["project"] == "sweeps" for r in runs["swept"])
    assert runs["user"][0]["tags"] == ["b", "c"]


def test_a_script_that_fails_inside_the_run_is_failed_with_exit_code_1(
    server: ServerProcess, http: httpx.Client, tmp_path: Path
) -> None:
    code = f"{SHIM_IMPORT}\nwith wandb.init(name='boom'):\n    wandb.log({{'loss': 1.0}})\n    raise ValueError('x')\n"
    proc = run_example(server, tmp_path / "f", code)
    assert proc.returncode == 1 and "ValueError" in proc.stderr
    (run,) = by_name(http)["boom"]
    assert run["status"] == "failed" and run["exit_code"] == 1


@pytest.mark.skipif(os.name != "posix", reason="subprocess env")
def test_log_without_init_names_the_missing_call(server: ServerProcess, tmp_path: Path) -> None:
    proc = run_example(server, tmp_path / "n", f"{SHIM_IMPORT}\nwandb.log({{'loss': 1.0}})\n")
    assert proc.returncode == 1 and "You must call wandb.init() before this call" in proc.stderr


MODELS = r"""
import trainboard.compat.wandb as wandb

wandb.require("core")
run_id = wandb.util.generate_id()
assert len(run_id) == 8 and run_id.isalnum() and run_id == run_id.lower(), run_id
wandb.init(project="models", name="registry")
with open("model.bin", "wb") as fh:
    fh.write(b"weights")
wandb.log_model("model.bin", name="tiny", aliases=["best"])
wandb.link_model("model.bin", registered_model_name="tiny-registry")
wandb.link_model("model.bin", registered_model_name="tiny-registry")
assert wandb.use_model("tiny:latest") is None
wandb.teardown()
assert wandb.run is None
"""


def test_model_names_keep_files_as_checkpoints_and_teardown_finishes(
    server: ServerProcess, http: httpx.Client, tmp_path: Path
) -> None:
    proc = run_example(server, tmp_path / "m", MODELS)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert proc.stderr.count("trainboard's wandb shim: wandb.link_model keeps the files as checkpoints") == 1
    assert proc.stderr.count("trainboard's wandb shim: wandb.use_model does nothing here") == 1
    (run,) = by_name(http)["registry"]
    assert run["status"] == "completed"
    saved = http.get(f"/api/runs/{run['id']}/checkpoints").json()["checkpoints"]
    got = sorted((c["metadata"]["artifact"], c["metadata"]["type"], tuple(c["metadata"]["aliases"])) for c in saved)
    assert got == [("tiny", "model", ("best",)), ("tiny-registry", "model", ()), ("tiny-registry", "model", ())]
