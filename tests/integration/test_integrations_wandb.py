"""``import trainboard.compat.wandb as wandb``: a typical wandb script, unchanged apart from the import, run in a
subprocess against a real server: steps follow wandb's rules (``commit=False``, explicit ``step``,
``define_metric(step_metric=...)``), config and summary stored, ``alert`` an alert (and a line), ``save`` a checkpoint,
media types warned about once, the run completed; ``resume="allow"`` continues a failed run."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from tests.support.integrations import metric_points, only_run, run_script, script_env
from tests.support.servers import ServerProcess

#: The SDK is what is under test here, not the database: SQLite only.
pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

SCRIPT = """
import trainboard.compat.wandb as wandb

run = wandb.init(project="shim", name="wandb-style", config={"lr": 0.01, "layers": [8, 8]})
wandb.config.update({"batch_size": 32})
wandb.config.epochs = 3
assert wandb.config.lr == 0.01 and wandb.config["batch_size"] == 32
wandb.define_metric("epoch")
wandb.define_metric("val/*", step_metric="epoch")
for i in range(6):
    wandb.log({"train/loss": 1.0 / (i + 1)}, commit=False)
    wandb.log({"train/acc": i / 10, "sample": wandb.Image(None)})
    if i % 2 == 1:
        wandb.log({"val": {"loss": 2.0 / (i + 1)}, "epoch": i // 2}, commit=False)
wandb.log({"late": 7.0}, step=20)
wandb.log({"late2": 8.0})          # same step 20 (explicit step not advanced yet), committed here
table = wandb.Table(columns=["a"])
wandb.log({"table": table, "also_image": wandb.Image(None)})
wandb.summary["best_acc"] = 0.5
wandb.summary.update({"note": "ok"})
assert wandb.summary["train/acc"] == 0.5
with open("model.pt", "wb") as fh:
    import torch
    torch.save({"w": torch.ones(2)}, fh)
wandb.save("model.pt")
wandb.alert(title="Low accuracy", text="acc below 0.6", level=wandb.AlertLevel.WARN)
print("RUN", run.id, run.step)
wandb.finish()
"""


def test_typical_wandb_script(server: ServerProcess, http: httpx.Client, tmp_path: Path) -> None:
    proc = run_script(server, tmp_path, SCRIPT)
    run = only_run(http)
    assert run["status"] == "completed" and run["name"] == "wandb-style" and run["project"] == "shim"
    points = metric_points(http, run["id"])
    assert {s: points[("train/loss", s)] for s in range(6)} == {i: 1.0 / (i + 1) for i in range(6)}
    assert {s: points[("train/acc", s)] for s in range(6)} == {i: i / 10 for i in range(6)}
    # as in wandb: val/* stays in the row it was logged into (commit=False after step i's commit: row i + 1; the
    # step metric is an x-axis, not a step), and epoch is stored once, in that row
    assert {s: v for (k, s), v in points.items() if k == "val/loss"} == {2: 1.0, 4: 0.5, 6: 2.0 / 6}
    assert {s: v for (k, s), v in points.items() if k == "epoch"} == {2: 0, 4: 1, 6: 2}
    assert run["config"]["define_metric"]["val/*"]["step_metric"] == "epoch"
    assert points[("late", 20)] == 7.0 and points[("late2", 20)] == 8.0
    assert not any(k in ("sample", "table", "also_image") for k, _ in points)
    config = run["config"]
    assert config["lr"] == 0.01 and config["layers"] == [8, 8] and config["batch_size"] == 32 and config["epochs"] == 3
    assert config["summary"] == {"best_acc": 0.5, "note": "ok"}
    # wandb.Image(None) is no image: said once per key, never raised into the script, counted at the end; the
    # (empty) table is recorded as a rich value
    assert proc.stderr.count("wandb.Image 'sample' not recorded: Image takes") == 1, proc.stderr
    assert proc.stderr.count("wandb.Image 'also_image' not recorded") == 1, proc.stderr
    assert "7 wandb.Image value(s) (also_image, sample)" in proc.stderr, proc.stderr
    rich = http.get(f"/api/runs/{run['id']}/rich").json()
    assert "table" in str(rich) and "wandb.Table" not in proc.stderr, (rich, proc.stderr)
    saved = http.get(f"/api/runs/{run['id']}/checkpoints").json()["checkpoints"]
    assert [(Path(c["path"]), c["valid"]) for c in saved] == [((tmp_path / "model.pt").resolve(), True)]
    lines = http.get(f"/api/runs/{run['id']}/logs/lines", params={"search": "Low accuracy"}).json()["lines"]
    assert len(lines) == 1 and lines[0]["level"] == "WARNING", lines
    assert "acc below 0.6" in str(lines[0])
    (alert,) = http.get("/api/alerts", params={"run_id": run["id"]}).json()["alerts"]  # wandb.alert is an alert
    assert (alert["title"], alert["message"], alert["level"]) == ("Low accuracy", "acc below 0.6", "warning")


RESUME = """
import sys
import trainboard.compat.wandb as wandb

wandb.init(name="resumable", resume="allow", config={"attempt": int(sys.argv[1])})
for i in range(3):
    wandb.log({"loss": float(sys.argv[1] + str(i))})
if sys.argv[1] == "1":
    raise RuntimeError("preempted")
wandb.finish()
"""


def test_resume_continues_a_failed_run(server: ServerProcess, http: httpx.Client, tmp_path: Path) -> None:
    import subprocess
    import sys

    script = tmp_path / "resume.py"
    script.write_text(RESUME)
    env = script_env(server, tmp_path)
    first = subprocess.run([sys.executable, str(script), "1"], env=env, capture_output=True, text=True, timeout=120)
    assert first.returncode == 1 and "preempted" in first.stderr
    assert only_run(http)["status"] == "failed"
    run_script(server, tmp_path, RESUME, "2")
    run = only_run(http)
    assert run["status"] == "completed" and run["config"]["attempt"] == 2
    loss = {s: v for (k, s), v in metric_points(http, run["id"]).items() if k == "loss"}
    assert loss == {0: 10.0, 1: 11.0, 2: 12.0, 3: 20.0, 4: 21.0, 5: 22.0}
