"""Terminal geometry through the real entry points: ``trainboard run`` from a terminal of a given size
(and a window resize mid-run), the SDK's in-process capture, the upload API and a server restart."""

from __future__ import annotations

import base64
import subprocess
import sys
from pathlib import Path

import httpx
from tests.support.servers import ServerProcess
from tests.support.terminal import TerminalProcess

RESIZED = r"""
import os, signal, time
resized = []
signal.signal(signal.SIGWINCH, lambda *_: resized.append(1))
cols, rows = os.get_terminal_size(1)
print(f"before {cols}x{rows}", flush=True)
deadline = time.monotonic() + 60
while not resized and time.monotonic() < deadline:
    time.sleep(0.01)
cols, rows = os.get_terminal_size(1)
print(f"after {cols}x{rows}", flush=True)
"""

CAPTURED = r"""
import trainboard
with trainboard.TrainingMonitor(run_name="captured", system_metrics=False):
    print("hello from the capture", flush=True)
"""

CAPTURED_RESIZED = r"""
import os, time, trainboard
with trainboard.TrainingMonitor(run_name="captured", system_metrics=False):
    first = tuple(os.get_terminal_size(1))
    print("before %dx%d" % first, flush=True)
    deadline = time.monotonic() + 60
    while tuple(os.get_terminal_size(1)) == first and time.monotonic() < deadline:
        time.sleep(0.01)  # the capture copies the real terminal's new size to its substitute
    print("after %dx%d" % tuple(os.get_terminal_size(1)), flush=True)
"""


def only_run(server: ServerProcess) -> str:
    runs = httpx.get(f"{server.url}/api/runs").json()["runs"]
    assert len(runs) == 1, runs
    return str(runs[0]["id"])


def geometry(server: ServerProcess, run_id: str) -> list[dict[str, int]]:
    reply = httpx.get(f"{server.url}/api/runs/{run_id}/logs/geometry")
    assert reply.status_code == 200, reply.text
    sizes: list[dict[str, int]] = reply.json()["sizes"]
    return sizes


def test_run_records_the_window_size_and_a_resize_at_its_offset(server: ServerProcess, tmp_path: Path) -> None:
    script = tmp_path / "resized.py"
    script.write_text(RESIZED)
    env = server.env() | {"TRAINBOARD_DATA": str(tmp_path / "client")}
    cmd = [sys.executable, "-m", "trainboard.cli", "run", "--system-interval", "0", "--", sys.executable, str(script)]
    term = TerminalProcess(cmd, cols=200, rows=50, env=env)
    term.wait_for(b"before 200x50")
    term.resize(120, 40)
    term.wait_for(b"after 120x40")  # the program saw the new size
    assert term.wait() == 0, term.output

    run_id = only_run(server)
    log = httpx.get(f"{server.url}/api/runs/{run_id}/logs").content
    sizes = geometry(server, run_id)
    assert [(s["cols"], s["rows"]) for s in sizes] == [(200, 50), (120, 40)]
    assert sizes[0]["offset"] == 0
    # the resize is placed between what was printed before it and what was printed after
    assert log.index(b"before 200x50") + len(b"before 200x50") <= sizes[1]["offset"] <= log.index(b"after 120x40")

    server.stop()
    server.start()
    assert geometry(server, run_id) == sizes  # stored, not remembered


def test_sdk_capture_records_the_terminal_it_prints_to(server: ServerProcess, tmp_path: Path) -> None:
    script = tmp_path / "captured.py"
    script.write_text(CAPTURED)
    env = server.env() | {"TRAINBOARD_DATA": str(tmp_path / "client")}
    term = TerminalProcess([sys.executable, str(script)], cols=150, rows=40, env=env)
    assert term.wait() == 0, term.output
    assert geometry(server, only_run(server)) == [{"offset": 0, "cols": 150, "rows": 40}]


def test_sdk_capture_records_a_resize_at_its_offset(server: ServerProcess, tmp_path: Path) -> None:
    script = tmp_path / "captured.py"
    script.write_text(CAPTURED_RESIZED)
    env = server.env() | {"TRAINBOARD_DATA": str(tmp_path / "client")}
    term = TerminalProcess([sys.executable, str(script)], cols=150, rows=40, env=env)
    term.wait_for(b"before 150x40")
    term.resize(90, 30)
    assert term.wait() == 0, term.output
    assert b"after 90x30" in term.output
    run_id = only_run(server)
    log = httpx.get(f"{server.url}/api/runs/{run_id}/logs").content
    sizes = geometry(server, run_id)
    assert [(s["offset"], s["cols"], s["rows"]) for s in sizes][:1] == [(0, 150, 40)]
    assert [(s["cols"], s["rows"]) for s in sizes] == [(150, 40), (90, 30)]
    assert log.index(b"before 150x40") + len(b"before 150x40") <= sizes[1]["offset"] <= log.index(b"after 90x30")


def test_sdk_capture_without_a_terminal_goes_by_columns_env(server: ServerProcess, tmp_path: Path) -> None:
    script = tmp_path / "captured.py"
    script.write_text(CAPTURED)
    env = server.env() | {"TRAINBOARD_DATA": str(tmp_path / "client"), "COLUMNS": "132", "LINES": "30"}
    done = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert geometry(server, only_run(server)) == [{"offset": 0, "cols": 132, "rows": 30}]


def test_sdk_capture_without_any_size_records_none(server: ServerProcess, tmp_path: Path) -> None:
    script = tmp_path / "captured.py"
    script.write_text(CAPTURED)
    env = server.env() | {"TRAINBOARD_DATA": str(tmp_path / "client")}
    env.pop("COLUMNS", None)
    env.pop("LINES", None)
    done = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert geometry(server, only_run(server)) == []  # a player fits such a log to its own width


def test_upload_places_sizes_at_chunk_offsets_and_rejects_bad_ones(http: httpx.Client) -> None:
    assert http.post("/api/runs", json={"id": "geo", "name": "geo"}).status_code in (200, 201)

    def chunk(seq: int, data: bytes, **size: int) -> dict[str, object]:
        body: dict[str, object] = {"seq": seq, "source": "stdout", "data": base64.b64encode(data).decode()}
        return body | ({"size": size} if size else {})

    chunks = [chunk(1, b"", cols=100, rows=30), chunk(2, b"0123456789"), chunk(3, b"abc", cols=100, rows=30)]
    chunks += [chunk(4, b"", cols=60, rows=20), chunk(5, b"xyz")]
    assert http.post("/api/runs/geo/logs/raw", json={"stream": "s1", "chunks": chunks}).status_code == 200
    # re-sent (the acknowledgement was lost): nothing moves
    assert http.post("/api/runs/geo/logs/raw", json={"stream": "s1", "chunks": chunks}).json()["duplicates"] == 5
    assert http.get("/api/runs/geo/logs/geometry").json() == {
        "sizes": [{"offset": 0, "cols": 100, "rows": 30}, {"offset": 13, "cols": 60, "rows": 20}]
    }

    bad = http.post("/api/runs/geo/logs/raw", json={"chunks": [chunk(6, b"x", cols=0, rows=24)]})
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["body", "chunks", 0, "size", "cols"]
    assert http.get("/api/runs/nope/logs/geometry").status_code == 404
