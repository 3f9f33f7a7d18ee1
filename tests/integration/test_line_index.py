"""Derived log lines against real servers: a slow progress bar stays one line (shown provisionally while
it runs), one run's failing request costs another run nothing, and a SIGKILL of the server loses no line."""

from __future__ import annotations

import base64
import io
import json
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pyte
import pytest
import tqdm
from tests.support.servers import ServerProcess
from websockets.sync.client import connect

SLOW_BAR = r"""
import time
from tqdm import tqdm
print("training", flush=True)
for _ in tqdm(range(4), desc="train", mininterval=0):
    time.sleep(2.5)
print("done", flush=True)
"""


def lines(server: ServerProcess, rid: str, **params: Any) -> list[dict[str, Any]]:
    resp = httpx.get(f"{server.url}/api/runs/{rid}/logs/lines", params={"limit": 10000, **params}, timeout=30)
    assert resp.status_code == 200, resp.text
    out: list[dict[str, Any]] = resp.json()["lines"]
    return out


def screen_rows(data: bytes, columns: int) -> list[str]:
    """What a terminal `columns` wide shows for `data` (pyte; `\\n` as CR+LF like a pty)."""
    screen = pyte.Screen(columns, 200)
    screen.set_mode(pyte.modes.LNM)
    pyte.ByteStream(screen).feed(data)
    rows = [row.rstrip() for row in screen.display]
    end = max([screen.cursor.y] + [i + 1 for i, row in enumerate(rows) if row])
    return rows[:end]


def rewrap(texts: list[str], columns: int) -> list[str]:
    """Lines cut into the `columns`-wide rows a terminal shows them in."""
    return [t[i : i + columns].rstrip() for t in texts for i in range(0, max(len(t), 1), columns)]


def raw_chunk(data: bytes, seq: int | None = None) -> dict[str, Any]:
    chunk: dict[str, Any] = {"source": "stdout", "data": base64.b64encode(data).decode()}
    if seq is not None:
        chunk["seq"] = seq
    return chunk


def test_a_slow_progress_bar_is_one_line_shown_provisionally_while_it_runs(
    server: ServerProcess, tmp_path: Path
) -> None:
    """2.5 s per step (longer than the old 2 s idle flush): the lines are what the terminal shows, not
    one line per bar state; while it runs, the bar's latest state is visible as a provisional line."""
    script = tmp_path / "train.py"
    script.write_text(SLOW_BAR)
    env = server.env() | {"TRAINBOARD_DATA": str(tmp_path / "client")}
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "trainboard.cli", "run", "--name", "slow-bar", "--flush-timeout", "120"),
            *("--", sys.executable, str(script)),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,  # one destination, as in a terminal: one pty, the terminal's own order
        env=env,
    )
    seen_open: list[dict[str, Any]] = []
    try:
        deadline = time.monotonic() + 60
        while proc.poll() is None and time.monotonic() < deadline and not seen_open:
            runs = httpx.get(f"{server.url}/api/runs").json()["runs"]
            if runs:
                shown = lines(server, runs[0]["id"])
                seen_open = [ln for ln in shown if ln["provisional"] and ln["message"].startswith("train:")]
            time.sleep(0.3)
        out, _ = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out[-2000:]
    assert seen_open, "the running bar was never shown"
    rid = httpx.get(f"{server.url}/api/runs").json()["runs"][0]["id"]
    raw = httpx.get(f"{server.url}/api/runs/{rid}/logs").content
    sizes = httpx.get(f"{server.url}/api/runs/{rid}/logs/geometry").json().get("sizes", [])
    columns = sizes[0]["cols"] if sizes else 500
    final = lines(server, rid)
    assert rewrap([ln["message"] for ln in final], columns) == screen_rows(raw, columns)
    assert [ln["message"].split(":")[0] for ln in final] == ["training", "train", "done"]
    assert "4/4" in final[1]["message"]
    assert not any(ln["provisional"] for ln in final)  # the run ended: every line is final


def _break_log_lines_of(server: ServerProcess, run_id: str) -> None:
    """Fault injection: from now on, storing a log line of `run_id` fails inside the server's writer."""
    db = sqlite3.connect(server.data_dir / "trainboard.db", timeout=30)
    with db:
        db.execute(
            f"CREATE TRIGGER fail_lines BEFORE INSERT ON log_lines WHEN NEW.run_id = '{run_id}' "
            "BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
        )
    db.close()


def _nan_timestamp(server: ServerProcess, run_id: str) -> None:
    """The request from the report: a line whose timestamp is NaN (was a 500 inside the writer)."""


FAULTS: dict[str, Callable[[ServerProcess, str], None]] = {
    "nan-timestamp": _nan_timestamp,
    "failing-insert": _break_log_lines_of,
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_a_failing_request_of_one_run_costs_another_run_nothing(
    make_server: Callable[..., ServerProcess], fault: str, db_url: str | None
) -> None:
    if db_url is not None and fault == "failing-insert":
        pytest.skip("the fault is injected with an SQLite trigger")
    server = make_server()
    with server.client() as http:
        for rid in ("victim", "bystander"):
            assert http.post("/api/runs", json={"id": rid}).status_code in (200, 201)
        # the bystander has lines still open: the last one (no newline yet) and a bar being redrawn
        data = b"epoch 1 done\n\r 50%|#####     | 1/2\r100%|##########| 2/2"
        assert http.post("/api/runs/bystander/logs/raw", json={"chunks": [raw_chunk(data)]}).status_code == 200
        shown = lines(server, "bystander")
        assert [(ln["message"], ln["provisional"]) for ln in shown] == [
            ("epoch 1 done", True),
            ("100%|##########| 2/2", True),
        ]
        latest = http.get("/api/runs/bystander/logs/latest", params={"n": 1}).json()["lines"]
        assert [(ln["message"], ln["provisional"]) for ln in latest] == [("100%|##########| 2/2", True)]
        FAULTS[fault](server, "victim")
        body = '{"message": "boom", "timestamp": NaN}' if fault == "nan-timestamp" else '{"message": "boom"}'
        with server.client() as other:  # another client's connection
            try:
                failed = other.post("/api/runs/victim/logs", content=body, headers={"Content-Type": "application/json"})
                assert failed.status_code >= 400  # refused (422) or failed inside the server (500)
            except httpx.HTTPError:
                pass  # or the connection broke: a failure all the same
        assert http.post("/api/runs/bystander/logs/raw", json={"chunks": [raw_chunk(b"\nafter\n")]}).status_code == 200
        assert http.put("/api/runs/bystander", json={"status": "completed"}).status_code == 200
        final = lines(server, "bystander")
        assert [ln["message"] for ln in final] == ["epoch 1 done", "100%|##########| 2/2", "after"]
        assert not any(ln["provisional"] for ln in final)
        for query in ({"search": "2/2"}, {"regex": r"^100%"}):
            assert [ln["message"] for ln in lines(server, "bystander", **query)] == ["100%|##########| 2/2"]
        download = http.get("/api/runs/bystander/logs/download", params={"format": "json"}).json()
        assert [ln["message"] for ln in download] == ["epoch 1 done", "100%|##########| 2/2", "after"]


def test_sigkill_of_the_server_while_indexing_loses_no_line(make_server: Callable[..., ServerProcess]) -> None:
    """600 lines streamed in chunks that cut lines anywhere; the server is SIGKILLed mid-stream and
    restarted; the client re-sends what was not acknowledged. The lines equal the raw log's lines."""
    server = make_server()
    total = 600
    text = "".join(f"step {i:04d} loss={1 / (i + 1):.6f}\n" for i in range(total)).encode()
    pieces = [text[i : i + 37] for i in range(0, len(text), 37)]  # 37 bytes: every line is cut somewhere
    sent = 0
    stop = threading.Event()

    def stream() -> None:
        nonlocal sent
        with server.client() as http:
            http.post("/api/runs", json={"id": "killed"})
            while sent < len(pieces) and not stop.is_set():
                try:
                    resp = http.post(
                        "/api/runs/killed/logs/raw",
                        json={"stream": "s1", "chunks": [raw_chunk(pieces[sent], seq=sent)]},
                        timeout=5,
                    )
                except httpx.HTTPError:
                    time.sleep(0.05)  # the server is down: retry the same chunk (seq makes it safe)
                    continue
                if resp.status_code == 200:
                    sent += 1
                else:
                    time.sleep(0.05)

    def indexed() -> int:
        try:
            return int(httpx.get(f"{server.url}/api/runs/killed/logs/summary", timeout=2).json()["total"])
        except (httpx.HTTPError, KeyError, json.JSONDecodeError):
            return 0

    worker = threading.Thread(target=stream, daemon=True)
    worker.start()
    try:
        deadline = time.monotonic() + 120
        while indexed() < total // 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert sent < len(pieces), "streaming finished before the kill: nothing was tested"
        server.kill()
        server.start()
        worker.join(180)
        assert not worker.is_alive() and sent == len(pieces)
    finally:
        stop.set()
    with server.client() as http:
        assert http.put("/api/runs/killed", json={"status": "completed"}).status_code == 200
    raw = httpx.get(f"{server.url}/api/runs/killed/logs").content
    assert raw == text  # the raw bytes are exact (exactly once)
    got = [ln["message"] for ln in lines(server, "killed")]
    assert len(got) == total
    assert got == raw.decode().splitlines()


def test_line_websocket_sends_the_open_lines(server: ServerProcess, http: httpx.Client) -> None:
    http.post("/api/runs", json={"id": "ws-open"})
    with connect(server.url.replace("http://", "ws://") + "/api/runs/ws-open/logs/stream") as ws:

        def next_open() -> list[str]:
            while True:
                msg = json.loads(ws.recv(timeout=10))
                if msg["type"] == "open":
                    return [ln["message"] for ln in msg["lines"] if ln["provisional"]]

        assert next_open() == []
        http.post("/api/runs/ws-open/logs/raw", json={"chunks": [raw_chunk(b"\r 10%|#")]})
        assert next_open() == [" 10%|#"]
        http.post("/api/runs/ws-open/logs/raw", json={"chunks": [raw_chunk(b"\r 20%|##")]})
        assert next_open() == [" 20%|##"]
        http.put("/api/runs/ws-open", json={"status": "completed"})
        final: list[str] = []
        while True:
            msg = json.loads(ws.recv(timeout=10))
            if msg["type"] == "lines":
                final += [ln["message"] for ln in msg["lines"]]
            if msg["type"] == "open" and msg["lines"] == []:
                break
        assert final == [" 20%|##"]


class _FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_lines_follow_the_recorded_terminal_width(server: ServerProcess, http: httpx.Client) -> None:
    """Nested bars 60 columns wide on a 30-column terminal: with the width recorded with the bytes, the
    lines are the screen's rows (each wrapped line joined); the same bytes without a width are not."""
    out = _FakeTTY()
    for _ in tqdm.tqdm(range(3), file=out, ncols=60, mininterval=0, desc="outer", position=0):
        for _ in tqdm.tqdm(range(4), file=out, ncols=60, mininterval=0, desc="inner", position=1):
            pass
    data = out.getvalue().encode()
    expected = screen_rows(data, 30)
    for rid, size in (("narrow", {"cols": 30, "rows": 24}), ("unknown", None)):
        http.post("/api/runs", json={"id": rid})
        chunk = raw_chunk(data) | ({"size": size} if size else {})
        assert http.post(f"/api/runs/{rid}/logs/raw", json={"chunks": [chunk]}).status_code == 200
        assert http.put(f"/api/runs/{rid}", json={"status": "completed"}).status_code == 200
    assert rewrap([ln["message"] for ln in lines(server, "narrow")], 30) == expected
    assert rewrap([ln["message"] for ln in lines(server, "unknown")], 30) != expected


def test_a_run_interrupted_by_its_missing_heartbeat_has_its_open_lines_made_final(
    make_server: Callable[..., ServerProcess],
) -> None:
    server = make_server("--heartbeat-timeout", "1")
    with server.client() as http:
        http.post("/api/runs", json={"id": "silent"})
        http.post("/api/runs/silent/logs/raw", json={"chunks": [raw_chunk(b"last words\r\n\r 40%|####")]})
        assert [ln["provisional"] for ln in lines(server, "silent")] == [True, True]
        deadline = time.monotonic() + 60
        while http.get("/api/runs/silent").json()["status"] == "running" and time.monotonic() < deadline:
            time.sleep(0.2)
    assert [(ln["message"], ln["provisional"]) for ln in lines(server, "silent")] == [
        ("last words", False),
        (" 40%|####", False),
    ]


def test_lines_are_rebuilt_from_the_raw_bytes_at_start(
    make_server: Callable[..., ServerProcess], db_url: str | None
) -> None:
    """Derived data is rebuilt from the raw truth: with the lines and the index state gone (as after a
    crash between storing bytes and indexing them), a restarted server re-indexes every run."""
    if db_url is not None:
        pytest.skip("the derived data is removed with sqlite3")
    server = make_server()
    text = b"".join(b"line %d\r\n" % i for i in range(50)) + b"\r 30%|###"
    with server.client() as http:
        http.post("/api/runs", json={"id": "rebuilt"})
        assert http.post("/api/runs/rebuilt/logs/raw", json={"chunks": [raw_chunk(text)]}).status_code == 200
    before = [(ln["message"], ln["provisional"]) for ln in lines(server, "rebuilt")]
    server.stop()
    db = sqlite3.connect(server.data_dir / "trainboard.db")
    with db:
        db.execute("DELETE FROM log_lines")
        db.execute("DELETE FROM log_index_state")
    db.close()
    server.start()
    deadline = time.monotonic() + 30
    while len(lines(server, "rebuilt")) < len(before) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [(ln["message"], ln["provisional"]) for ln in lines(server, "rebuilt")] == before
    assert before[-1] == (" 30%|###", True) and len(before) == 51


def test_a_run_whose_indexing_fails_keeps_its_bytes_and_catches_up(
    server: ServerProcess, http: httpx.Client, db_url: str | None
) -> None:
    if db_url is not None:
        pytest.skip("the fault is injected with an SQLite trigger")
    http.post("/api/runs", json={"id": "flaky"})
    _break_log_lines_of(server, "flaky")
    resp = http.post("/api/runs/flaky/logs/raw", json={"chunks": [raw_chunk(b"one\r\ntwo\r\nthree\r\n")]})
    assert resp.status_code == 200 and resp.json()["appended"] == 17  # the bytes are stored regardless
    assert lines(server, "flaky") == []
    db = sqlite3.connect(server.data_dir / "trainboard.db", timeout=30)
    with db:
        db.execute("DROP TRIGGER fail_lines")
    db.close()
    assert http.post("/api/runs/flaky/logs/raw", json={"chunks": [raw_chunk(b"four\r\n")]}).status_code == 200
    assert http.put("/api/runs/flaky", json={"status": "completed"}).status_code == 200
    assert [ln["message"] for ln in lines(server, "flaky")] == ["one", "two", "three", "four"]
    assert httpx.get(f"{server.url}/api/runs/flaky/logs").content == b"one\r\ntwo\r\nthree\r\nfour\r\n"
