"""``trainboard import tensorboard|wandb`` and ``trainboard export --format csv|json|parquet|tensorboard`` through a
real server and the real CLI: values, steps and wall times survive, and importing again adds nothing."""

from __future__ import annotations

import csv
import io
import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.support.servers import ServerProcess


def cli(server: ServerProcess, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "trainboard.cli", *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=server.env(), cwd=cwd, timeout=180, check=False)


def runs(server: ServerProcess) -> dict[str, dict[str, Any]]:
    return {r["name"]: r for r in httpx.get(f"{server.url}/api/runs", params={"limit": 100}).json()["runs"]}


def history(server: ServerProcess, run_id: str) -> dict[str, Any]:
    metrics: dict[str, Any] = httpx.get(f"{server.url}/api/runs/{run_id}/metrics").json()["metrics"]
    return metrics


WRITER = r"""
import json, sys
from torch.utils.tensorboard import SummaryWriter
written = {}
for name, scale in (("a", 1.0), ("b", 2.0)):
    w = SummaryWriter(f"{sys.argv[1]}/{name}")
    for i, step in enumerate((0, 3, 10)):
        wall = 1_700_000_000.123456 + i * 61.5 + scale
        w.add_scalar("train/loss", scale / (step + 1), step, walltime=wall)
        w.add_scalar("lr", 1e-3 * scale, step, walltime=wall)
        written.setdefault(name, []).append([step, wall, scale / (step + 1), 1e-3 * scale])
    w.close()
print(json.dumps(written))
"""


def test_import_tensorboard_keeps_values_steps_and_wall_times_and_is_idempotent(
    server: ServerProcess, tmp_path: Path
) -> None:
    np = pytest.importorskip("numpy")
    pytest.importorskip("torch")
    pytest.importorskip("tensorboard")
    logdir = tmp_path / "tb"
    made = subprocess.run([sys.executable, "-c", WRITER, str(logdir)], capture_output=True, text=True, check=True)
    written = json.loads(made.stdout)

    first = cli(server, "import", "tensorboard", str(logdir), "--project", "tbimport")
    assert first.returncode == 0, first.stderr
    got = runs(server)
    assert {"tb/a", "tb/b"} <= set(got)
    for name, rows in written.items():
        run = got[f"tb/{name}"]
        assert run["project"] == "tbimport" and run["status"] == "completed"
        series = history(server, run["id"])
        assert set(series) == {"train/loss", "lr"}
        assert series["train/loss"]["step"] == [r[0] for r in rows]
        assert series["train/loss"]["timestamp"] == pytest.approx([r[1] for r in rows], abs=1e-6)
        assert series["train/loss"]["value"] == [float(np.float32(r[2])) for r in rows]  # add_scalar keeps float32
        assert series["lr"]["value"] == [float(np.float32(r[3])) for r in rows]

    again = cli(server, "import", "tensorboard", str(logdir), "--project", "tbimport")
    assert again.returncode == 0, again.stderr
    assert "0 values new" in again.stdout and again.stdout.count("already there") == 2
    after = runs(server)
    assert len(after) == len(got)
    for name in written:
        assert history(server, after[f"tb/{name}"]["id"])["train/loss"]["count"] == 3


OTHER_SUMMARIES = r"""
import sys
import numpy as np
from torch.utils.tensorboard import SummaryWriter
w = SummaryWriter(sys.argv[1])
for step in range(4):
    w.add_scalar("loss", 1.0 / (step + 1), step)
    w.add_histogram("weights", np.arange(10.0) * step, step)
    if step % 2 == 0:
        w.add_text("note", f"step {step}", step)
w.add_image("sample", np.zeros((3, 4, 4)), 0)
w.close()
"""


def test_import_tensorboard_says_what_it_skipped(server: ServerProcess, tmp_path: Path) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("tensorboard")
    logdir = tmp_path / "mixed"
    subprocess.run([sys.executable, "-c", OTHER_SUMMARIES, str(logdir)], check=True, timeout=120)
    done = cli(server, "import", "tensorboard", str(logdir))
    assert done.returncode == 0, done.stderr
    assert "7 histograms, images and texts; nothing skipped" in done.stdout, done.stdout
    run = runs(server)["mixed"]
    assert "import_skipped" not in run["config"]
    assert set(history(server, run["id"])) == {"loss"}
    # histograms, images and text written by torch.utils.tensorboard: trainboard's rich values at their steps
    with httpx.Client(base_url=server.url, timeout=30) as http:
        rich = {k["key"]: (k["kind"], k["steps"]) for k in http.get(f"/api/runs/{run['id']}/rich").json()["keys"]}
        assert rich == {"weights": ("histogram", [0, 1, 2, 3]), "note": ("text", [0, 2]), "sample": ("image", [0])}
        hist = http.get(f"/api/runs/{run['id']}/rich/weights", params={"step": 3}).json()
        body = hist["histogram"]
        assert body["bin_edges"][0] == 0 and body["bin_edges"][-1] == 27 and len(body["counts"]) == 64
        assert sum(body["counts"]) == pytest.approx(10) and "re-binned from" in hist["truncated"]
        # the mass stays where the values are (0, 3, ..., 27: half of them below 13.5), spread only within the
        # TensorBoard bucket each fell in
        assert 4 <= sum(body["counts"][:32]) <= 6
        assert http.get(f"/api/runs/{run['id']}/rich/note", params={"step": 2}).json()["text"] == {"text": "step 2"}
        image = http.get(f"/api/runs/{run['id']}/rich/sample").json()["image"]
        assert (image["width"], image["height"], image["format"]) == (4, 4, "png")
    again = cli(server, "import", "tensorboard", str(logdir))  # importing again stores nothing twice
    assert again.returncode == 0, again.stderr
    with httpx.Client(base_url=server.url, timeout=30) as http:
        assert len(http.get(f"/api/runs/{run['id']}/rich").json()["keys"]) == 3


def test_import_of_a_folder_without_event_files_is_one_line(server: ServerProcess, tmp_path: Path) -> None:
    pytest.importorskip("tensorboard")
    done = cli(server, "import", "tensorboard", str(tmp_path))
    assert done.returncode == 1 and "no TensorBoard event files under" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.fixture
def logged_run(server: ServerProcess) -> str:
    """A run with metrics sent the way the SDK sends them (NaN and an infinity included)."""
    with httpx.Client(base_url=server.url) as http:
        run_id = http.post("/api/runs", json={"name": "to-export"}).json()["id"]
        points = [
            {"step": 0, "timestamp": 1_700_000_000.25, "metrics": {"loss": 1.0000000001, "acc": 0.1}},
            {"step": 5, "timestamp": 1_700_000_060.5, "metrics": {"loss": "NaN", "acc": 0.2}},
            {"step": 9, "timestamp": 1_700_000_120.75, "metrics": {"loss": "Infinity", "acc": 1e-300}},
        ]
        assert http.post(f"/api/runs/{run_id}/metrics", json={"points": points}).status_code == 200
    return str(run_id)


def same(a: list[Any], b: list[Any]) -> bool:
    return repr(a) == repr(b)  # (NaN == NaN)


def test_export_formats_round_trip(server: ServerProcess, tmp_path: Path, logged_run: str) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    done = cli(server, "export", logged_run, "--format", "csv")
    assert done.returncode == 0, done.stderr
    table = list(csv.reader(io.StringIO(done.stdout)))
    assert table[0] == ["step", "key", "value", "timestamp"]
    expected = sorted((int(s), k, float(v), float(t)) for s, k, v, t in table[1:])
    assert len(expected) == 6 and ("9", "loss", "Infinity") in [(r[0], r[1], r[2]) for r in table[1:]]

    note = {"values": [{"key": "note", "step": 3, "kind": "text", "text": {"text": "a generation"}}]}
    assert httpx.post(f"{server.url}/api/runs/{logged_run}/rich", json=note, timeout=30).status_code == 200
    assert cli(server, "export", logged_run, "--format", "json", "-o", str(tmp_path / "m.json")).returncode == 0
    exported = json.loads((tmp_path / "m.json").read_text())
    as_json = exported["metrics"]
    assert as_json["loss"]["value"] == [1.0000000001, "NaN", "Infinity"]
    assert exported["rich"]["keys"] == [{"key": "note", "kind": "text", "steps": [3]}]  # the rich values' index

    assert cli(server, "export", logged_run, "--format", "parquet", "-o", str(tmp_path / "m.parquet")).returncode == 0
    parquet = pq.read_table(tmp_path / "m.parquet").to_pylist()
    got = sorted((r["step"], r["key"], r["value"], r["timestamp"]) for r in parquet)
    assert same(got, expected)


def test_export_tensorboard_then_import_gives_the_same_run(
    server: ServerProcess, tmp_path: Path, logged_run: str
) -> None:
    pytest.importorskip("tensorboard")
    out = tmp_path / "exported"
    done = cli(server, "export", logged_run, "--format", "tensorboard", "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert any(p.name.startswith("events.out.tfevents.") for p in out.iterdir())
    assert cli(server, "import", "tensorboard", str(out)).returncode == 0
    original, imported = history(server, logged_run), history(server, runs(server)["exported"]["id"])
    for key in ("loss", "acc"):
        for column in ("step", "value", "timestamp"):
            assert same(imported[key][column], original[key][column]), (key, column)


def test_export_tensorboard_is_read_as_scalars_by_tensorboard(
    server: ServerProcess, tmp_path: Path, logged_run: str
) -> None:
    """TensorBoard's own reader lists every key as a scalar, each point at its step and wall time, the value as
    TensorBoard keeps scalars (float32)."""
    np = pytest.importorskip("numpy")
    event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
    out = tmp_path / "exported"
    assert cli(server, "export", logged_run, "--format", "tensorboard", "-o", str(out)).returncode == 0
    reader = event_accumulator.EventAccumulator(str(out))
    reader.Reload()
    assert sorted(reader.Tags()["scalars"]) == ["acc", "loss"]
    assert reader.Tags()["tensors"] == []
    original = history(server, logged_run)
    for key in ("loss", "acc"):
        events = reader.Scalars(key)
        assert [e.step for e in events] == original[key]["step"]
        assert [e.wall_time for e in events] == pytest.approx(original[key]["timestamp"], abs=1e-6)
        want = [float(np.float32(float(v))) for v in original[key]["value"]]
        assert same([e.value for e in events], want), key


def test_export_parquet_needs_an_output_file(server: ServerProcess, logged_run: str) -> None:
    done = cli(server, "export", logged_run, "--format", "parquet")
    assert done.returncode == 2 and "--format parquet needs --output" in done.stderr


WANDB_SCRIPT = r"""
import wandb
run = wandb.init(project="proj", name="wandb-exp", config={"lr": 0.01, "layers": 2}, mode="offline")
for step in range(5):
    wandb.log({"loss": 1.0 / (step + 1), "acc": step / 10})
wandb.log({"val/loss": 0.5}, step=7)
run.finish()
"""


def test_import_wandb_offline_run(server: ServerProcess, tmp_path: Path) -> None:
    pytest.importorskip("wandb")
    env = os.environ | {"WANDB_SILENT": "true", "WANDB_MODE": "offline", "WANDB_DIR": str(tmp_path)}
    subprocess.run([sys.executable, "-c", WANDB_SCRIPT], cwd=tmp_path, env=env, check=True, timeout=120)
    folder = tmp_path / "wandb"
    for attempt in range(2):
        done = cli(server, "import", "wandb", str(folder))
        assert done.returncode == 0, done.stderr
        assert ("0 values new" in done.stdout) == (attempt == 1)
    run = runs(server)["wandb-exp"]
    assert run["config"]["lr"] == 0.01 and run["config"]["layers"] == 2
    series = history(server, run["id"])
    assert series["loss"]["step"] == [0, 1, 2, 3, 4]
    assert series["loss"]["value"] == pytest.approx([1.0, 0.5, 1 / 3, 0.25, 0.2])
    assert series["acc"]["value"] == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4])
    assert series["val/loss"]["step"] == [7] and series["val/loss"]["value"] == [0.5]
    assert series["loss"]["timestamp"] == sorted(series["loss"]["timestamp"])
    assert not math.isnan(series["loss"]["timestamp"][0])
    assert run["project"] == "proj"  # the wandb project, not "default"


WANDB_MEDIA_SCRIPT = r"""
import numpy as np
import wandb
run = wandb.init(project="media", name="with-media", tags=["baseline"], notes="first try", group="g1",
                 job_type="train", mode="offline")
for step in range(3):
    wandb.log({
        "loss": 1.0 / (step + 1),
        "img": wandb.Image(np.zeros((4, 4, 3), dtype=np.uint8)),
        "preds": wandb.Table(columns=["a"], data=[[step]]),
        "weights": wandb.Histogram([1, 2, 3]),
        "phase": "train",
        "nested": {"img": wandb.Image(np.ones((4, 4, 3), dtype=np.uint8)), "acc": step / 4},
        "flag": step % 2 == 0,
    })
run.summary["best_loss"] = 0.25
run.finish(exit_code=3)
"""


def test_import_wandb_media_summary_tags_and_what_was_skipped(server: ServerProcess, tmp_path: Path) -> None:
    pytest.importorskip("wandb")
    env = os.environ | {"WANDB_SILENT": "true", "WANDB_MODE": "offline", "WANDB_DIR": str(tmp_path)}
    subprocess.run([sys.executable, "-c", WANDB_MEDIA_SCRIPT], cwd=tmp_path, env=env, check=True, timeout=120)
    done = cli(server, "import", "wandb", str(tmp_path / "wandb"))
    assert done.returncode == 0, done.stderr
    line = next(x for x in done.stdout.splitlines() if x.startswith("with-media:"))
    for part in ("6 images", "3 tables", "3 histograms", "3 text values", "3 boolean values"):
        assert part in line, line
    run = runs(server)["with-media"]
    assert run["project"] == "media"
    assert set(history(server, run["id"])) == {"loss", "nested/acc"}  # no img/size, preds/ncols, weights/bins
    assert run["config"]["summary"]["best_loss"] == 0.25 and run["config"]["summary"]["loss"] == pytest.approx(1 / 3)
    skipped = {"images": 6, "tables": 3, "histograms": 3, "text values": 3, "boolean values": 3}
    assert run["config"]["import_skipped"] == skipped
    assert set(run["tags"]) == {"baseline", "group:g1", "job_type:train"}
    assert run["notes"] == "first try"
    assert run["status"] == "failed" and run["exit_code"] == 3
