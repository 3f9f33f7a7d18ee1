"""``trainboard import aim`` on a repository the real ``aim`` package writes in the test run (``aim.Run``: params,
metrics with steps, epochs and contexts, images, distributions, texts, captured terminal output, tags, name,
description, experiment; one run closed, one whose process ended without closing it), imported through the real
CLI into a real ``trainboard serve``: every point exact (step, float64 value, timestamp as Aim stored it), contexts
as distinct keys, what is not imported counted, importing again adds nothing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from tests.integration.test_import_export import cli, history, runs
from tests.support.servers import ServerProcess

pytest.importorskip("aim")

WRITER = r"""
import json, os, sys
import numpy as np
from aim import Distribution, Image, Run, Text

repo = sys.argv[1]
run = Run(repo=repo, experiment="vision")
run.name = "resnet-a"
run.description = "first try"
run.add_tag("baseline")
run.add_tag("resnet")
run["hparams"] = {"lr": 0.001, "batch_size": 32, "optimizer": "adam", "layers": [64, 128]}
run["imported_from"] = "mine"  # clashes with a key the importer sets
written = {"loss/subset=train": [], "loss/subset=val": [], "acc": [], "epoch": []}
for i, step in enumerate((0, 10, 20, 30)):
    train, val = 1 / (3 + i), 0.1 + 0.2 * i
    run.track(train, name="loss", step=step, epoch=i // 2, context={"subset": "train"})
    run.track(val, name="loss", step=step, epoch=i // 2, context={"subset": "val"})
    written["loss/subset=train"].append([step, train])
    written["loss/subset=val"].append([step, val])
    written["epoch"].append([step, i // 2])
for step in range(3):
    run.track(step * 0.25, name="acc", step=step)  # no context, no epoch
    written["acc"].append([step, step * 0.25])
run.track(2.0**53 + 2, name="big", step=5, context={"fold": 1, "subset": "val"})
written["big/fold=1,subset=val"] = [[5, 2.0**53 + 2]]
for step in range(2):
    run.track(Image(np.zeros((4, 4, 3), dtype=np.uint8)), name="samples", step=step)
run.track(Distribution(np.arange(10.0)), name="weights", step=0)
run.track(Text("hello"), name="notes", step=0)
print("a line Aim captures as terminal output", flush=True)
run.close()

other = Run(repo=repo, experiment="other", system_tracking_interval=None, capture_terminal_logs=False)
other.name = "killed"
other.track(0.5, name="loss", step=0)
other.track(0.25, name="loss", step=1)
json.dump({"written": written, "hashes": [run.hash, other.hash]}, open(sys.argv[2], "w"))
os._exit(0)  # ends without closing: no end time, as a killed run leaves it
"""


def write_repo(tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    root = tmp_path / "aimrepo"
    root.mkdir()
    out = tmp_path / "written.json"
    made = subprocess.run(
        [sys.executable, "-c", WRITER, str(root), str(out)], capture_output=True, text=True, timeout=300, check=False
    )
    assert made.returncode == 0, made.stderr
    return root, json.loads(out.read_text())


def bits(values: list[Any]) -> list[str]:
    return [float(v).hex() for v in values]


def test_import_aim_repository(server: ServerProcess, tmp_path: Path) -> None:
    root, record = write_repo(tmp_path)
    written = record["written"]
    first = cli(server, "import", "aim", str(root))
    assert first.returncode == 0, first.stderr
    line = next(x for x in first.stdout.splitlines() if x.startswith("resnet-a:"))
    for part in ("2 images", "1 distributions", "1 texts", "terminal log lines"):
        assert part in line, line

    got = runs(server)
    one, killed = got["resnet-a"], got["killed"]
    assert one["project"] == "vision" and killed["project"] == "other"
    assert one["status"] == "completed" and killed["status"] == "running"  # Aim: no end time = still active
    assert sorted(one["tags"]) == ["baseline", "resnet"] and one["notes"] == "first try"
    config = one["config"]
    assert config["hparams"] == {"lr": 0.001, "batch_size": 32, "optimizer": "adam", "layers": [64, 128]}
    assert config["imported_from"] == "aim" and config["aim"]["params"] == {"imported_from": "mine"}
    assert config["aim"]["run_hash"] == record["hashes"][0] and config["aim"]["end_time"] is not None
    assert config["import_skipped"]["images"] == 2 and config["import_skipped"]["distributions"] == 1

    metrics = history(server, one["id"])
    for key, points in written.items():
        assert metrics[key]["step"] == [p[0] for p in points], key
        assert bits(metrics[key]["value"]) == bits([p[1] for p in points]), key  # float64 bit for bit
    assert metrics["loss/subset=train"]["timestamp"] == sorted(metrics["loss/subset=train"]["timestamp"])
    assert history(server, killed["id"])["loss"]["value"] == [0.5, 0.25]

    again = cli(server, "import", "aim", str(root / ".aim"))
    assert again.returncode == 0, again.stderr
    assert again.stdout.count("0 values new") == 2, again.stdout
    assert set(runs(server)) == set(got)
    assert history(server, one["id"])["loss/subset=val"]["count"] == len(written["loss/subset=val"])


def test_import_aim_of_a_folder_without_a_repository_is_one_line(server: ServerProcess, tmp_path: Path) -> None:
    done = cli(server, "import", "aim", str(tmp_path))
    assert done.returncode == 2
    assert "is not an Aim repository (no .aim folder in it)" in done.stderr
