"""Checkpoints through the SDK against a real server; corrupt files; path safety."""

from __future__ import annotations

import json
import os
from pathlib import Path

import httpx
import pytest
from tests.support.servers import ServerProcess

from trainboard import TrainingMonitor
from trainboard.sdk.checkpoints import torch_available


def save(path: Path, step: int) -> None:
    if torch_available():
        import torch

        torch.save({"step": step, "model": {"w": torch.ones(2, 2) * step}}, path)
    else:
        path.write_text(json.dumps({"step": step}))


def test_checkpoint_lifecycle(server: ServerProcess, http: httpx.Client, tmp_path: Path) -> None:
    ckdir = server.data_dir / "checkpoints" / "exp"  # inside the server's default checkpoint root
    ckdir.mkdir(parents=True)
    losses = [0.9, 0.4, 0.6, 0.2, 0.3]
    with TrainingMonitor(
        "ckpt",
        dashboard_url=server.url,
        data_dir=tmp_path / "c",
        system_metrics=False,
        capture_output=False,
        best_metric="loss",
        best_mode="min",
    ) as mon:
        ids = []
        for i, loss in enumerate(losses):
            path = ckdir / f"step_{i}.pt"
            save(path, i * 100)
            mon.log_metrics({"loss": loss}, step=i * 100)
            ids.append(
                mon.save_checkpoint(path, metrics={"loss": loss, "acc": 1 - loss}, metadata={"epoch": i}, step=i * 100)
            )
        corrupt = ckdir / "corrupt.pt"
        corrupt.write_bytes(b"\x80\x02not a checkpoint at all")
        bad_id = mon.save_checkpoint(corrupt, metrics={"loss": 0.01})
        missing_id = mon.save_checkpoint(ckdir / "never_written.pt", metrics={"loss": 0.001})
    rid = mon.run_id
    listing = http.get(f"/api/runs/{rid}/checkpoints", params={"sort": "metric:loss", "order": "asc"}).json()
    by_loss = [c["id"] for c in listing["checkpoints"]]
    assert by_loss[:5] == [ids[3], ids[4], ids[1], ids[2], ids[0]] or by_loss[2:7] == [
        ids[3],
        ids[4],
        ids[1],
        ids[2],
        ids[0],
    ]
    records = {c["id"]: c for c in listing["checkpoints"]}
    assert [c for c in records.values() if c["is_best"]] == [records[ids[3]]]  # auto-best: loss min, valid only
    missing = records[missing_id]
    assert missing["valid"] is False and "cannot read" in missing["invalid_reason"]
    if torch_available():
        assert records[bad_id]["valid"] is False and "torch.load failed" in records[bad_id]["invalid_reason"]
    steps = [
        c["step"]
        for c in http.get(f"/api/runs/{rid}/checkpoints", params={"sort": "step", "order": "desc"}).json()[
            "checkpoints"
        ]
        if c["id"] in ids
    ]
    assert steps == [400, 300, 200, 100, 0]
    loaded = http.post(f"/api/checkpoints/{ids[3]}/load").json()
    assert loaded["step"] == 300 and loaded["metadata"] == {"epoch": 3} and loaded["valid"] and loaded["exists"]
    assert http.get(f"/api/checkpoints/{ids[1]}/download").content == (ckdir / "step_1.pt").read_bytes()
    http.post(f"/api/checkpoints/{ids[4]}/best")
    assert http.get(f"/api/checkpoints/{ids[3]}").json()["is_best"] is False
    gone = http.delete(f"/api/checkpoints/{ids[0]}", params={"delete_file": "true"}).json()
    assert gone["file_deleted"] and not (ckdir / "step_0.pt").exists()
    assert http.get(f"/api/checkpoints/{ids[0]}").status_code == 404
    kinds = [e["kind"] for e in http.get(f"/api/runs/{rid}/events").json()["events"]]
    assert {"checkpoint_saved", "checkpoint_best", "checkpoint_invalid", "checkpoint_deleted"} <= set(kinds)


@pytest.mark.skipif(not torch_available(), reason="needs PyTorch (the test command installs it)")
def test_get_last_checkpoint_loads_with_torch(server: ServerProcess, tmp_path: Path) -> None:
    ck = tmp_path / "ck"
    ck.mkdir()
    with TrainingMonitor(
        "tl", dashboard_url=server.url, data_dir=tmp_path / "c", system_metrics=False, capture_output=False
    ) as mon:
        save(ck / "a.pt", 7)
        mon.save_checkpoint(ck / "a.pt", step=7)
        last = mon.get_last_checkpoint()
    assert last["step"] == 7 and float(last["model"]["w"][0][0]) == 7.0


def test_paths_outside_the_roots_are_refused(server: ServerProcess, http: httpx.Client, tmp_path: Path) -> None:
    http.post("/api/runs", json={"id": "sec"})
    outside = tmp_path / "outside.pt"
    outside.write_bytes(b"secret")
    root = server.data_dir / "checkpoints"
    root.mkdir(parents=True, exist_ok=True)
    link = root / "escape.pt"
    os.symlink(outside, link)
    cases = [
        str(outside),
        str(root / ".." / ".." / "outside.pt"),
        "/etc/passwd",
        str(link),
        str(root / "../../../../../../etc/passwd"),
    ]
    for i, path in enumerate(cases):
        cid = http.post("/api/runs/sec/checkpoints", json={"id": f"c{i}", "path": path}).json()["id"]
        resp = http.get(f"/api/checkpoints/{cid}/download")
        assert resp.status_code == 403, path
        assert http.delete(f"/api/checkpoints/{cid}", params={"delete_file": "true"}).status_code == 403
    assert outside.read_bytes() == b"secret"
    for bad_id in ("..%2F..%2Fetc%2Fpasswd", "../../etc/passwd", "%2e%2e", "..%2f..%2f..%2fetc%2fpasswd"):
        resp = http.get(f"/api/checkpoints/{bad_id}/download")
        assert b"root:" not in resp.content and resp.headers["content-type"] != "application/octet-stream"
    assert http.post("/api/runs/sec/checkpoints", json={"id": "../x", "path": "a"}).status_code == 422
