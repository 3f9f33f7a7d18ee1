"""``trainboard import mlflow`` on runs the real mlflow writes, into a real ``trainboard serve`` through the real
CLI: from an mlruns directory (MLflow's file store) and from a real ``mlflow server`` (sqlite backend) over its
REST API. Every metric point as MLflow's own client reads it back (steps and timestamps exact, values bit for
bit), params as config, tags, notes, status, start time; what is not imported counted; importing again adds
nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.integration.test_import_export import cli, history, runs
from tests.support.servers import ServerProcess, free_port

pytest.importorskip("mlflow")

#: Logs three runs the way people write MLflow code, then prints what MLflow's own client reads back.
SCRIPT = r"""
import json, math, sys
import mlflow
from mlflow.entities import Dataset, DatasetInput

mlflow.set_tracking_uri(sys.argv[1])
client = mlflow.MlflowClient()
mlflow.set_experiment("mlflow-exp")
mlflow.start_run(run_name="baseline")
mlflow.log_param("lr", 0.001)
mlflow.log_param("layers", 4)
mlflow.log_param("optimizer", "adam")
mlflow.log_param("schedule", "1e-3")  # (text that reads as a number, but not as exactly this text)
for step in (0, 10, 20, 30):
    mlflow.log_metric("train/loss", 1 / (step + 3), step=step)
mlflow.log_metric("val/acc", 0.1 + 0.2, step=10)
mlflow.log_metric("val/acc", 1e-300, step=20, timestamp=1_700_000_000_123)
mlflow.log_metric("odd", float("nan"), step=1)
mlflow.log_metric("odd", float("inf"), step=2)
mlflow.log_metric("odd", -0.0, step=3)
mlflow.log_metric("odd", 2.0**53 + 2, step=2**40)
mlflow.set_tag("team", "vision")
mlflow.set_tag("mlflow.note.content", "first try\nwith **notes**")
mlflow.log_text("hello", "notes/readme.txt")
mlflow.log_dict({"a": 1}, "config.json")
run_id = mlflow.active_run().info.run_id
dataset = Dataset(name="train", digest="d1", source_type="local", source='{"uri": "train.npy"}')
client.log_inputs(run_id, datasets=[DatasetInput(dataset)])
mlflow.initialize_logged_model(name="model-a")
mlflow.end_run()

mlflow.start_run(run_name="crashed")
mlflow.log_metric("loss", 0.5, step=0)
mlflow.log_metric("loss", 0.75, step=0)  # logged again at the same step
mlflow.log_metric("loss", 0.25, step=1)
mlflow.end_run(status="FAILED")
mlflow.set_experiment("other-exp")
mlflow.start_run(run_name="stopped")
mlflow.log_metric("loss", 3.0, step=0)
mlflow.end_run(status="KILLED")
deleted = client.create_run(mlflow.get_experiment_by_name("other-exp").experiment_id, run_name="deleted")
client.delete_run(deleted.info.run_id)

out = {}
for exp in ("mlflow-exp", "other-exp"):
    for run in client.search_runs([mlflow.get_experiment_by_name(exp).experiment_id]):
        out[run.info.run_name] = {
            "run_id": run.info.run_id, "status": run.info.status, "start_time": run.info.start_time,
            "end_time": run.info.end_time, "params": run.data.params, "tags": run.data.tags,
            "metrics": {k: [[m.step, m.timestamp, repr(m.value)] for m in client.get_metric_history(run.info.run_id, k)]
                        for k in run.data.metrics},
        }
print(json.dumps(out))
"""


def log_runs(tracking_uri: str, cwd: Path, env: dict[str, str] | None = None) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, tracking_uri],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=(env or os.environ) | {"MLFLOW_ALLOW_FILE_STORE": "true"},
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    written: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return written


def check_imported(server: ServerProcess, written: dict[str, Any]) -> None:
    """Each run in trainboard as MLflow's client reads it."""
    got = runs(server)
    for name, want in written.items():
        run = got[name]
        assert run["status"] == {"FINISHED": "completed", "FAILED": "failed", "KILLED": "interrupted"}[want["status"]]
        assert run["project"] == ("other-exp" if name == "stopped" else "mlflow-exp")
        mlflow_config = run["config"]["mlflow"]
        assert mlflow_config["run_id"] == want["run_id"]
        assert (mlflow_config["start_time"], mlflow_config["end_time"]) == (want["start_time"], want["end_time"])
        assert datetime.fromisoformat(run["start_time"]).timestamp() == pytest.approx(
            want["start_time"] / 1000, abs=1e-3
        )
        system = {k: v for k, v in want["tags"].items() if k.startswith("mlflow.") and k != "mlflow.note.content"}
        assert mlflow_config["system_tags"] == system
        series = history(server, run["id"])
        assert set(series) == set(want["metrics"])
        for key, points in want["metrics"].items():
            last: dict[int, list[Any]] = {}
            for step, stamp, value in sorted(points, key=lambda p: p[1]):
                last[step] = [step, stamp, value]  # trainboard keeps one value per step: the last logged
            expected = sorted(last.values())
            stored = series[key]
            values = [repr(float(v)) if isinstance(v, str) else repr(v) for v in stored["value"]]
            got_points = [
                [s, round(t * 1000), v] for s, t, v in zip(stored["step"], stored["timestamp"], values, strict=True)
            ]
            assert sorted(got_points) == expected, key
    baseline = got["baseline"]
    config = baseline["config"]
    assert (config["lr"], config["layers"], config["optimizer"], config["schedule"]) == (0.001, 4, "adam", "1e-3")
    assert config["mlflow"]["tags"] == {"team": "vision"}
    assert baseline["tags"] == ["team:vision"]
    assert baseline["notes"] == "first try\nwith **notes**"
    assert config["import_skipped"] == {"artifacts": 2, "logged models": 1, "dataset inputs": 1}
    assert got["crashed"]["config"]["import_skipped"] == {"values at a repeated step (the last kept)": 1}


def import_twice(server: ServerProcess, source: str, written: dict[str, Any]) -> None:
    first = cli(server, "import", "mlflow", source)
    assert first.returncode == 0, first.stderr
    lines = first.stdout.splitlines()
    baseline = next(x for x in lines if x.startswith("baseline:"))
    assert "not imported: 2 artifacts, 1 logged models, 1 dataset inputs" in baseline, baseline
    assert "not imported: 1 values at a repeated step (the last kept)" in first.stdout
    assert lines[-1] == "not imported: 1 deleted runs", lines
    check_imported(server, written)
    before = runs(server)

    again = cli(server, "import", "mlflow", source)
    assert again.returncode == 0, again.stderr
    assert again.stdout.count("0 values new") == len(written), again.stdout
    after = runs(server)
    assert set(after) == set(before)
    for name, run in after.items():
        counts = {k: v["count"] for k, v in history(server, run["id"]).items()}
        assert counts == {k: v["count"] for k, v in history(server, before[name]["id"]).items()}
    check_imported(server, written)


def test_import_mlflow_file_store(server: ServerProcess, tmp_path: Path) -> None:
    store = tmp_path / "mlruns"
    written = log_runs(store.as_uri(), tmp_path)
    assert set(written) == {"baseline", "crashed", "stopped"}
    import_twice(server, str(store), written)


@pytest.fixture
def mlflow_server(tmp_path: Path) -> Iterator[str]:
    """A real ``mlflow server`` on a free port with a sqlite backend (artifacts proxied into tmp_path)."""
    port = free_port()
    env = os.environ | {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    cmd = [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    cmd += ["--backend-store-uri", f"sqlite:///{tmp_path / 'mlflow.db'}"]
    cmd += ["--artifacts-destination", str(tmp_path / "artifacts")]
    log = (tmp_path / "mlflow-server.log").open("wb")
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            assert proc.poll() is None, (tmp_path / "mlflow-server.log").read_text()[-3000:]
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "mlflow server did not start in 180 s"
            time.sleep(0.5)
        yield url
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=30)
        log.close()


def test_import_mlflow_tracking_server(
    server: ServerProcess, tmp_path: Path, mlflow_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    written = log_runs(mlflow_server, tmp_path)
    import_twice(server, mlflow_server, written)

    # every list is paged to its end: one item per page reads the same as the default pages
    from trainboard.importers import mlflow_rest

    tokens: list[str] = []
    with mlflow_rest.client_for(mlflow_server) as client:
        whole = list(mlflow_rest.read_server(client))
        monkeypatch.setattr(mlflow_rest, "PAGE", 1)
        monkeypatch.setattr(mlflow_rest, "HISTORY_PAGE", 1)
        client.event_hooks["request"].append(
            lambda r: tokens.append(r.url.path) if b"page_token" in r.url.query + r.content else None
        )
        paged = list(mlflow_rest.read_server(client))
    assert len(whole) == 3 and repr(paged) == repr(whole)
    assert {"/api/2.0/mlflow/runs/search", "/api/2.0/mlflow/metrics/get-history"} <= set(tokens)


def test_import_mlflow_from_a_folder_without_runs_is_one_line(server: ServerProcess, tmp_path: Path) -> None:
    done = cli(server, "import", "mlflow", str(tmp_path))
    assert done.returncode == 1 and "no MLflow runs in" in done.stderr
    assert "Traceback" not in done.stderr
    nowhere = f"http://127.0.0.1:{free_port()}"
    done = cli(server, "import", "mlflow", nowhere)
    assert done.returncode == 1 and f"MLflow tracking server {nowhere}" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
