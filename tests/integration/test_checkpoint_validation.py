"""Checkpoint registration never dropped, and PyTorch never imported by the SDK (issue 22, item 2).

Through the SDK in a separate Python process (the test process itself may have imported torch)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import pytest
from tests.support.servers import ServerProcess

pytest.importorskip("torch")  # the point is a process with torch installed that never imports it

SCRIPT = textwrap.dedent(
    """
    import json, os, sys
    from trainboard import TrainingMonitor

    url, data, ckdir, out = sys.argv[1:5]
    ids = []
    monitors = [
        TrainingMonitor(f"ck{i}", dashboard_url=url, data_dir=data, system_metrics=False, capture_output=False)
        for i in range(2)
    ]
    for n in range(3):
        for i, mon in enumerate(monitors):
            path = os.path.join(ckdir, f"m{i}_{n}.pt")
            with open(path, "wb") as fh:
                fh.write(b"not really a tensor file" * 10)
            ids.append((mon.run_id, mon.save_checkpoint(path, metrics={"loss": 1.0 / (n + 1)})))
    for mon in monitors:
        mon.finish()
    with open(out, "w") as fh:
        json.dump({"ids": ids, "torch": "torch" in sys.modules}, fh)
    """
)

RAISING = textwrap.dedent(
    """
    import json, os, sys
    from trainboard import TrainingMonitor

    url, data, ckdir, out = sys.argv[1:5]
    real_getsize = os.path.getsize

    def getsize(path):
        if "weird" in os.fspath(path):
            raise ValueError("the file system said something odd")
        return real_getsize(path)

    os.path.getsize = getsize
    path = os.path.join(ckdir, "weird.pt")
    with open(path, "wb") as fh:
        fh.write(b"x")
    kw = dict(dashboard_url=url, data_dir=data, system_metrics=False, capture_output=False)
    with TrainingMonitor("raising", **kw) as mon:
        ckpt = mon.save_checkpoint(path, metrics={"loss": 0.5})
    with open(out, "w") as fh:
        json.dump({"run": mon.run_id, "id": ckpt}, fh)
    """
)


def _run(script: str, server: ServerProcess, tmp_path: Path) -> dict[str, object]:
    ckdir = server.data_dir / "checkpoints"
    ckdir.mkdir(parents=True, exist_ok=True)
    out = tmp_path / "out.json"
    proc = subprocess.run(
        [sys.executable, "-c", script, server.url, str(tmp_path / "client"), str(ckdir), str(out)],
        capture_output=True,
        timeout=120,
        env=server.env(),
    )
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    assert b"checkpoint task failed" not in proc.stderr
    result: dict[str, object] = json.loads(out.read_text())
    return result


def test_checkpoints_of_two_monitors_all_listed_and_torch_never_imported(
    server: ServerProcess, http: httpx.Client, tmp_path: Path
) -> None:
    result = _run(SCRIPT, server, tmp_path)
    assert result["torch"] is False  # the SDK did not import PyTorch behind the program's back
    ids = result["ids"]
    assert isinstance(ids, list) and len(ids) == 6
    for run_id, ckpt_id in ids:
        listed = {c["id"]: c for c in http.get(f"/api/runs/{run_id}/checkpoints").json()["checkpoints"]}
        assert ckpt_id in listed, f"checkpoint {ckpt_id} of run {run_id} was dropped"
        assert listed[ckpt_id]["valid"] is True  # readable; not loaded, since the program never imported torch


def test_a_validation_that_raises_registers_the_checkpoint_invalid_with_the_reason(
    server: ServerProcess, http: httpx.Client, tmp_path: Path
) -> None:
    result = _run(RAISING, server, tmp_path)
    listed = {c["id"]: c for c in http.get(f"/api/runs/{result['run']}/checkpoints").json()["checkpoints"]}
    record = listed[str(result["id"])]
    assert record["valid"] is False
    assert "ValueError" in record["invalid_reason"] and "something odd" in record["invalid_reason"]
