"""Log lines derived from real terminal output, filters, downloads and the line WebSocket."""

from __future__ import annotations

import base64
import csv
import io
import json
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import httpx
from tests.support.servers import ServerProcess
from websockets.sync.client import connect

TRAIN = r"""
import logging, sys
from tqdm import tqdm
for _ in tqdm(range(5000), mininterval=0, desc="epoch"):
    pass
for _ in tqdm(range(20), position=0, desc="outer", mininterval=0):
    for _ in tqdm(range(30), position=1, desc="inner", leave=False, mininterval=0):
        pass
print("\x1b[31mERROR\x1b[0m: gradient exploded, \x1b[1mnan\x1b[0m at step 7", flush=True)
logging.basicConfig(level=logging.INFO)
logging.warning("checkpoint dir is almost full")
print('value, with "quotes"\nand a second line', flush=True)
def inner():
    raise ValueError("bad shape")
inner()
"""


def run_script(server: ServerProcess, tmp_path: Path) -> str:
    path = tmp_path / "train.py"
    path.write_text(TRAIN)
    env = server.env() | {"TRAINBOARD_DATA": str(tmp_path / "client")}
    done = subprocess.run(
        # a busy machine can take more than the default 10 s to upload: wait for all of it
        [sys.executable, "-m", "trainboard.cli", "run", "--flush-timeout", "120", "--", sys.executable, str(path)],
        capture_output=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 1, done.stderr[-2000:]
    rid: str = httpx.get(f"{server.url}/api/runs").json()["runs"][0]["id"]
    return rid


def lines(server: ServerProcess, rid: str, **params: Any) -> list[dict[str, Any]]:
    resp = httpx.get(f"{server.url}/api/runs/{rid}/logs/lines", params={"limit": 10000, **params})
    assert resp.status_code == 200, resp.text
    out: list[dict[str, Any]] = resp.json()["lines"]
    return out


def test_terminal_semantics_levels_and_filters(server: ServerProcess, tmp_path: Path) -> None:
    rid = run_script(server, tmp_path)
    every = lines(server, rid)
    epoch = [ln for ln in every if ln["message"].startswith("epoch")]
    assert len(epoch) == 1 and "5000/5000" in epoch[0]["message"]  # 5,000 redraws: one final line
    outer = [ln for ln in every if ln["message"].startswith("outer")]
    inner = [ln for ln in every if ln["message"].startswith("inner")]
    assert len(outer) == 1 and "20/20" in outer[0]["message"]
    assert len(inner) <= 1  # leave=False: erased at the end, never hundreds
    errors = lines(server, rid, level="error")
    exploded = [ln for ln in errors if "gradient exploded" in ln["message"]]
    assert exploded and exploded[0]["message"] == "ERROR: gradient exploded, nan at step 7"
    assert "\x1b[31m" in exploded[0]["display"]
    assert [ln["message"] for ln in lines(server, rid, search="GRADIENT EXPLODED")] == [exploded[0]["message"]]
    tb_start = next(i for i, ln in enumerate(every) if ln["message"].startswith("Traceback"))
    tb = [ln for ln in every[tb_start:] if ln["source"] == "stderr"]
    assert tb[-1]["message"] == "ValueError: bad shape"
    assert all(ln["level"] == "ERROR" for ln in tb)
    assert any(ln["level"] == "WARNING" and "almost full" in ln["message"] for ln in every)
    # filters combine
    combined = lines(server, rid, level="warning", source="stdout", search="nan")
    assert [ln["message"] for ln in combined] == [exploded[0]["message"]]
    assert lines(server, rid, regex=r"step \d+$", source="stdout")[0]["message"].endswith("step 7")
    assert lines(server, rid, level="error,critical", source="stderr")[-1]["message"] == "ValueError: bad shape"
    summary = httpx.get(f"{server.url}/api/runs/{rid}/logs/summary").json()
    assert summary["total"] == len(every) and summary["levels"]["ERROR"] == len(errors)


def test_bad_filters_are_422(server: ServerProcess, http: httpx.Client) -> None:
    http.post("/api/runs", json={"id": "f"})
    bad = http.get("/api/runs/f/logs/lines", params={"regex": "(unclosed"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "regex"]
    assert "invalid regular expression" in bad.json()["detail"][0]["msg"]
    bad = http.get("/api/runs/f/logs/lines", params={"level": "loud"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "level"]
    assert http.get("/api/runs/f/logs/lines", params={"source": "gpu"}).status_code == 422
    assert http.get("/api/runs/nope/logs/lines").status_code == 404


def test_downloads(server: ServerProcess, http: httpx.Client) -> None:
    http.post("/api/runs", json={"id": "dl"})
    messages = ["plain", "with, commas", 'with "quotes"', "tab\there", "unicode ✓ ü"]
    http.post("/api/runs/dl/logs/batch", json={"lines": [{"message": m, "level": "ERROR"} for m in messages]})
    http.post("/api/runs/dl/logs", json={"message": "first\nsecond", "level": "WARNING", "source": "sdk"})
    raw = b"\x1b[1;31mred error\x1b[0m\r\n"
    http.post("/api/runs/dl/logs/raw", json={"chunks": [{"source": "stdout", "data": base64.b64encode(raw).decode()}]})
    http.put("/api/runs/dl", json={"status": "completed"})  # makes open lines final
    text = http.get("/api/runs/dl/logs/download", params={"format": "csv", "level": "error"}).text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["message"] for r in rows] == [*messages]
    assert (
        http.get("/api/runs/dl/logs/download", params={"format": "csv", "level": "warning"}).headers[
            "content-disposition"
        ]
        == 'attachment; filename="dl-logs.csv"'
    )
    multi = list(
        csv.DictReader(
            io.StringIO(http.get("/api/runs/dl/logs/download", params={"format": "csv", "source": "sdk"}).text)
        )
    )
    assert [r["message"] for r in multi] == ["first", "second"]
    doc = json.loads(http.get("/api/runs/dl/logs/download", params={"format": "json"}).text)
    assert [d["message"] for d in doc][-1] == "red error" and len(doc) == 8
    txt = http.get("/api/runs/dl/logs/download", params={"format": "txt"}).text
    assert "\x1b" not in txt and "red error" in txt and txt.count("\n") == 8
    cleared = http.delete("/api/runs/dl/logs").json()["removed"]
    assert cleared["lines"] == 8 and cleared["bytes"] == len(raw)
    assert http.get("/api/runs/dl/logs/summary").json()["total"] == 0
    assert http.get("/api/runs/dl/logs").content == b""


def test_two_websocket_clients_receive_10000_lines_in_order(server: ServerProcess, http: httpx.Client) -> None:
    http.post("/api/runs", json={"id": "ws"})
    ws_url = server.url.replace("http://", "ws://") + "/api/runs/ws/logs/stream"
    received: list[list[int]] = [[], []]
    ready = threading.Barrier(3)

    def client(i: int) -> None:
        with connect(ws_url, max_size=None) as ws:
            ws.send(json.dumps({"type": "ping"}))
            ready.wait()
            while len(received[i]) < 10_000:
                msg = json.loads(ws.recv(timeout=60))
                if msg["type"] == "lines":
                    received[i] += [ln["line_number"] for ln in msg["lines"]]
                elif msg["type"] not in ("pong", "behind", "heartbeat", "open"):
                    raise AssertionError(msg)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    ready.wait()
    for start in range(0, 10_000, 1000):
        batch = [{"message": f"line {i}"} for i in range(start, start + 1000)]
        assert http.post("/api/runs/ws/logs/batch", json={"lines": batch}).status_code == 201
    for t in threads:
        t.join(60)
    assert received[0] == list(range(10_000))
    assert received[1] == list(range(10_000))


def test_websocket_ping_and_backlog(server: ServerProcess, http: httpx.Client) -> None:
    http.post("/api/runs", json={"id": "bk"})
    http.post("/api/runs/bk/logs/batch", json={"lines": [{"message": f"m{i}"} for i in range(700)]})
    with connect(server.url.replace("http://", "ws://") + "/api/runs/bk/logs/stream") as ws:
        first = json.loads(ws.recv(timeout=10))
        assert first["type"] == "lines" and len(first["lines"]) == 500 and first["lines"][-1]["message"] == "m699"
        ws.send(json.dumps({"type": "ping"}))
        reply = json.loads(ws.recv(timeout=10))
        if reply["type"] == "open":  # the open lines (none here) may come before the pong
            assert reply["lines"] == []
            reply = json.loads(ws.recv(timeout=10))
        assert reply == {"type": "pong"}


def test_sdk_logging_handler_keeps_level_and_logger(server: ServerProcess, tmp_path: Path) -> None:
    import logging

    from trainboard import TrainingMonitor

    with TrainingMonitor(
        "logs", dashboard_url=server.url, data_dir=tmp_path / "c", system_metrics=False, capture_output=False
    ) as mon:
        mon.attach_logging("trainer", level=logging.DEBUG)
        log = logging.getLogger("trainer")
        log.debug("shapes ok")
        log.warning("lr %s is high", 0.5)
        try:
            raise ValueError("bad batch")
        except ValueError:
            log.exception("step failed")
    got = lines(server, mon.run_id, source="sdk")
    assert [(ln["level"], ln["message"]) for ln in got[:3]] == [
        ("DEBUG", "trainer: shapes ok"),
        ("WARNING", "trainer: lr 0.5 is high"),
        ("ERROR", "trainer: step failed"),
    ]
    assert any("ValueError: bad batch" in ln["message"] for ln in got)
    assert logging.getLogger("trainer").handlers == []  # removed at finish
