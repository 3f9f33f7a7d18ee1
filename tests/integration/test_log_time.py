"""The raw log on the time line (``GET /api/runs/{id}/logs/offset?time=``): how far the terminal had got at a
moment, through a real server, with exact chunk times from the upload API and with a real SDK run whose metric
timestamps pick out what it had printed by each step."""

from __future__ import annotations

import base64
import subprocess
import sys
from pathlib import Path

import httpx
from tests.support.servers import API_HEADERS, ServerProcess

T0 = 1_700_000_000.0

SCRIPT = r"""
import time, trainboard
with trainboard.TrainingMonitor(run_name="timeline", system_metrics=False) as m:
    for step in range(4):
        print(f"printed at step {step}", flush=True)
        time.sleep(0.35)  # the capture reads and stamps the line before the metric is logged
        m.log_metrics({"loss": 1.0 / (step + 1)}, step=step)
        time.sleep(0.35)
"""


def chunk(data: bytes, at: float) -> dict[str, object]:
    return {"source": "stdout", "time": at, "data": base64.b64encode(data).decode()}


def test_offset_at_a_time_is_the_end_of_the_bytes_printed_by_then(http: httpx.Client) -> None:
    assert http.post("/api/runs", json={"id": "tl"}, headers=API_HEADERS).status_code in (200, 201)
    parts = [(b"one\r\n", T0), (b"two\r\n", T0 + 10), (b"three\r\n", T0 + 20)]
    reply = http.post("/api/runs/tl/logs/raw", json={"chunks": [chunk(d, t) for d, t in parts]})
    assert reply.status_code == 200, reply.text

    def at(time: float | str) -> dict[str, object]:
        r = http.get("/api/runs/tl/logs/offset", params={"time": time})
        assert r.status_code == 200, r.text
        body: dict[str, object] = r.json()
        return body

    assert at(T0 - 1) == {"time": T0 - 1, "offset": 0, "chunk_time": None, "log_start": 0, "log_size": 17}
    assert at(T0)["offset"] == 5  # a chunk produced exactly then is on screen
    assert at(T0 + 15) | {"time": 0} == {"time": 0, "offset": 10, "chunk_time": T0 + 10, "log_start": 0, "log_size": 17}
    assert at(T0 + 99)["offset"] == 17
    assert at("2023-11-14T22:13:30Z")["offset"] == 10  # ISO 8601 too (T0 + 10)
    limit = int(str(at(T0 + 15)["offset"]))
    replay = http.get("/api/runs/tl/logs", params={"offset": 0, "limit": limit}).content
    assert replay == b"one\r\ntwo\r\n"


def test_bad_time_and_unknown_run(http: httpx.Client) -> None:
    http.post("/api/runs", json={"id": "tl2"}, headers=API_HEADERS)
    missing = http.get("/api/runs/tl2/logs/offset")
    assert missing.status_code == 422 and "time" in str(missing.json()["detail"])
    for bad in ("yesterday", "-5", "nan"):
        r = http.get("/api/runs/tl2/logs/offset", params={"time": bad})
        assert r.status_code == 422, (bad, r.text)
        assert "time" in str(r.json()["detail"])
    unknown = http.get("/api/runs/nope/logs/offset", params={"time": T0})
    assert unknown.status_code == 404 and "nope" in unknown.json()["detail"]


def test_an_sdk_metric_timestamp_finds_what_was_printed_at_that_step(server: ServerProcess, tmp_path: Path) -> None:
    script = tmp_path / "timeline.py"
    script.write_text(SCRIPT)
    env = server.env() | {"TRAINBOARD_DATA": str(tmp_path / "client")}
    done = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr
    run_id = httpx.get(f"{server.url}/api/runs").json()["runs"][0]["id"]
    history = httpx.get(f"{server.url}/api/runs/{run_id}/metrics", params={"keys": "loss"}).json()
    series = history["metrics"]["loss"]
    for step, ts in zip(series["step"], series["timestamp"], strict=True):
        offset = httpx.get(f"{server.url}/api/runs/{run_id}/logs/offset", params={"time": ts}).json()["offset"]
        screen = httpx.get(f"{server.url}/api/runs/{run_id}/logs", params={"offset": 0, "limit": offset}).content
        assert screen.rstrip().endswith(f"printed at step {step}".encode()), (step, screen)
