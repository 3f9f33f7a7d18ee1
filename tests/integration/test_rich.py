"""Rich values (issue 29): SDK -> a real ``trainboard serve`` -> the HTTP API, for each type, offline spool and
``trainboard sync`` included; bad values are 422s naming the field; image bytes served with their type only."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from tests.support.cli import cli
from tests.support.servers import ServerProcess

from trainboard.sdk.rich import png_bytes

LOG_ALL = r"""
import sys
import numpy as np, torch
import trainboard
from trainboard import TrainingMonitor
mon = TrainingMonitor("rich", dashboard_url=sys.argv[1], data_dir=sys.argv[2], system_metrics=False,
                      capture_output=False, flush_timeout=float(sys.argv[3]))
print(mon.run_id, flush=True)
w = torch.zeros(1000)
for step in range(3):
    w.normal_(mean=step, std=1.0)
    img = np.zeros((8, 12, 3), dtype=np.uint8); img[:, :, step] = 255
    mon.log_metrics({
        "loss": 1.0 / (step + 1),
        "weights": trainboard.Histogram(w, num_bins=16, copy=True),
        "grads": trainboard.Histogram(np.arange(100.0) * (step + 1)),
        "sample": trainboard.Image(img, caption=f"step {step}"),
        "generation": trainboard.Text(f"the model said <b>{step}</b>"),
        "evals": trainboard.Table(columns=["prompt", "reward", "ok"],
                                  rows=[["p1", 0.5 + step, True], ["p2", 1, False]]),
    }, step=step)
mon.finish()
"""


def sdk(script: str, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, timeout=timeout)


def check_run(http: httpx.Client, run_id: str) -> None:
    index = http.get(f"/api/runs/{run_id}/rich").json()["keys"]
    assert {k["key"]: (k["kind"], k["steps"]) for k in index} == {
        "evals": ("table", [0, 1, 2]),
        "generation": ("text", [0, 1, 2]),
        "grads": ("histogram", [0, 1, 2]),
        "sample": ("image", [0, 1, 2]),
        "weights": ("histogram", [0, 1, 2]),
    }
    hist = http.get(f"/api/runs/{run_id}/rich/weights", params={"step": 2}).json()
    assert len(hist["histogram"]["counts"]) == 16 and sum(hist["histogram"]["counts"]) == 1000
    assert 0.5 < (hist["histogram"]["bin_edges"][0] + hist["histogram"]["bin_edges"][-1]) / 2 < 3.5  # mean ~2
    assert hist["truncated"] is None
    grads = http.get(f"/api/runs/{run_id}/rich/grads", params={"step": 1}).json()["histogram"]
    assert grads["bin_edges"][0] == 0 and grads["bin_edges"][-1] == 198 and sum(grads["counts"]) == 100
    text = http.get(f"/api/runs/{run_id}/rich/generation", params={"step": 1}).json()
    assert text["text"] == {"text": "the model said <b>1</b>"}
    table = http.get(f"/api/runs/{run_id}/rich/evals").json()  # no step: the latest
    assert table["step"] == 2
    assert table["table"]["columns"] == [
        {"name": "prompt", "type": "str"},
        {"name": "reward", "type": "float"},
        {"name": "ok", "type": "bool"},
    ]
    assert table["table"]["rows"] == [["p1", 2.5, True], ["p2", 1.0, False]]
    image = http.get(f"/api/runs/{run_id}/rich/sample", params={"step": 1}).json()
    assert image["caption"] == "step 1" and image["image"]["width"] == 12 and image["image"]["height"] == 8
    got = http.get(image["image"]["url"])
    assert got.status_code == 200 and got.headers["content-type"] == "image/png"
    assert got.headers["x-content-type-options"] == "nosniff"
    import io

    from PIL import Image

    pixels = np.asarray(Image.open(io.BytesIO(got.content)))
    assert pixels.shape == (8, 12, 3) and (pixels[:, :, 1] == 255).all() and (pixels[:, :, 0] == 0).all()
    metrics = http.get(f"/api/runs/{run_id}/metrics", params={"keys": "loss"}).json()["metrics"]
    assert list(metrics["loss"]["step"]) == [0, 1, 2]  # numbers logged beside them are metrics as before


def test_sdk_logs_every_rich_type_to_a_real_server(server: ServerProcess, http: httpx.Client, tmp_path: Path) -> None:
    done = sdk(LOG_ALL, server.url, str(tmp_path / "client"), "30")
    assert done.returncode == 0, done.stderr
    run_id = done.stdout.strip()
    check_run(http, run_id)
    series = http.get(f"/api/runs/{run_id}/rich-series/weights", params={"limit": 2}).json()
    assert series["total_steps"] == 3 and [v["step"] for v in series["values"]] == [0, 2]  # first and last


@pytest.fixture
def down_server(tmp_path: Path) -> Iterator[ServerProcess]:
    server = ServerProcess(data_dir=tmp_path / "server", db_url=None)
    yield server
    server.stop()


def test_offline_rich_values_are_spooled_and_synced_exactly_once(down_server: ServerProcess, tmp_path: Path) -> None:
    client = str(tmp_path / "client")
    env_off = {"TRAINBOARD_BACKGROUND_UPLOAD": "0"}
    offline = subprocess.run(
        [sys.executable, "-c", LOG_ALL, down_server.url, client, "0.5"],
        capture_output=True,
        text=True,
        timeout=180,
        env={**__import__("os").environ, **env_off},
    )
    assert offline.returncode == 0 and "trainboard sync" in offline.stderr, offline.stderr
    run_id = offline.stdout.strip()
    down_server.start()
    sent = cli("sync", "--data", client, "--url", down_server.url, timeout=120)
    assert sent.returncode == 0, sent.stderr
    with down_server.client() as http:
        check_run(http, run_id)
        # the same upload again (a retry after a lost answer): still one value per (key, step)
        value = http.get(f"/api/runs/{run_id}/rich/generation", params={"step": 0}).json()
        again = {"values": [{"key": "generation", "step": 0, "kind": "text", "text": value["text"]}]}
        assert http.post(f"/api/runs/{run_id}/rich", json=again).status_code == 200
        index = {k["key"]: k["steps"] for k in http.get(f"/api/runs/{run_id}/rich").json()["keys"]}
        assert index["generation"] == [0, 1, 2]


def _png(width: int, height: int) -> str:
    return base64.b64encode(png_bytes(np.zeros((height, width, 3), dtype=np.uint8))).decode()


@pytest.mark.parametrize(
    ("value", "loc", "says"),
    [
        ({"kind": "histogram", "histogram": {"bin_edges": [0, 1], "counts": [1, 2]}}, ["histogram"], "one more"),
        ({"kind": "histogram", "histogram": {"bin_edges": [1, 0], "counts": [1]}}, ["histogram"], "ascending"),
        ({"kind": "histogram", "histogram": {"bin_edges": [0, 1], "counts": [-1]}}, ["histogram"], "negative"),
        ({"kind": "text", "histogram": {"bin_edges": [0, 1], "counts": [1]}}, [], "carries the field 'text'"),
        ({"kind": "image", "image": {"format": "png", "data": "not base64!"}}, ["image", "data"], "base64"),
        (
            {"kind": "image", "image": {"format": "png", "data": base64.b64encode(b"<svg onload=x>").decode()}},
            ["image", "data"],
            "PNG or JPEG",
        ),
        ({"kind": "image", "image": {"format": "jpeg", "data": _png(2, 2)}}, ["image", "format"], "'png'"),
        ({"kind": "image", "image": {"format": "png", "data": _png(5000, 1)}}, ["image", "data"], "pixels a side"),
        (
            {"kind": "table", "table": {"columns": [{"name": "n", "type": "int"}], "rows": [["x"]]}},
            ["table", "rows", 0, 0],
            "column 0 is int",
        ),
        (
            {"kind": "table", "table": {"columns": [{"name": "n", "type": "int"}], "rows": [[1, 2]]}},
            ["table", "rows", 0],
            "one cell per column",
        ),
        ({"kind": "text", "text": {"text": "x" * 1_000_001}}, ["text", "text"], "at most"),
        (
            {
                "kind": "table",
                "table": {"columns": [{"name": "s", "type": "str"}], "rows": [["y" * 90_000] for _ in range(100)]},
            },
            ["table", "rows"],
            "at most 8388608 bytes",
        ),
    ],
)
def test_bad_values_are_422_naming_the_field(
    http: httpx.Client, value: dict[str, object], loc: list[object], says: str
) -> None:
    assert http.post("/api/runs", json={"id": "r1", "name": "r1"}).status_code in (200, 201)
    resp = http.post("/api/runs/r1/rich", json={"values": [{"key": "k", "step": 1, **value}]})
    assert resp.status_code == 422, resp.text[:300]
    want = ["body", "values", 0, *loc]
    detail = resp.json()["detail"]
    hits = [d for d in detail if d["loc"][: len(want)] == want]
    assert hits and says in json.dumps(hits), detail
    assert http.get("/api/runs/r1/rich").json() == {"keys": []}  # nothing of the request stored


def test_images_of_another_run_or_unknown_digests_are_not_served(http: httpx.Client) -> None:
    for run in ("a", "b"):
        assert http.post("/api/runs", json={"id": run, "name": run}).status_code in (200, 201)
    value = {"key": "img", "step": 0, "kind": "image", "image": {"format": "png", "data": _png(3, 2)}}
    assert http.post("/api/runs/a/rich", json={"values": [value]}).status_code == 200
    url = http.get("/api/runs/a/rich/img").json()["image"]["url"]
    assert http.get(url).status_code == 200
    assert http.get(url.replace("/runs/a/", "/runs/b/")).status_code == 404
    assert http.get("/api/runs/a/rich-images/" + "0" * 64).status_code == 404
    assert http.get("/api/runs/a/rich-images/..%2F..%2Ftrainboard.db").status_code in (404, 422)
    assert http.get("/api/runs/nope/rich").status_code == 404
    assert http.get("/api/runs/a/rich/img", params={"step": 7}).status_code == 404
    # deleting the run removes its values
    assert http.delete("/api/runs/a").status_code in (200, 204)
    assert http.get(url).status_code == 404
