"""Write-path subscribers in a real ``trainboard serve``: every committed change once, in commit order per run.

A recorder (``tests.support.subscribers``) is plugged in through ``TRAINBOARD_SUBSCRIBERS`` beside one that
raises on everything. Clients send metric batches (one re-sent: a duplicate is no change), raw terminal
output, posted lines and a status change, each request answered before the next is sent; the recorder must
have seen each exactly once, per run in the order sent — on SQLite, and on PostgreSQL with two worker
processes behind one port (+ Redis), where each change is delivered by the process that committed it.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.support.scale import PrivateRedis
from tests.support.servers import API_HEADERS, ServerProcess, postgres_database
from tests.support.subscribers import RECORD_ENV

STEPS = 12
RUNS = ("sub-a", "sub-b")


@pytest.fixture(params=["sqlite", pytest.param("postgres-2-workers", marks=[pytest.mark.postgres, pytest.mark.redis])])
def recorded_server(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[ServerProcess, Path]]:
    record = tmp_path / "changes.jsonl"
    monkeypatch.setenv(RECORD_ENV, str(record))
    monkeypatch.setenv("TRAINBOARD_SUBSCRIBERS", "tests.support.subscribers:failing,tests.support.subscribers:recorder")
    if request.param == "sqlite":
        server = ServerProcess(tmp_path / "data", None).start(timeout=120)
        try:
            yield server, record
        finally:
            server.stop()
        return
    redis = PrivateRedis(tmp_path / "redis").start()
    try:
        with postgres_database() as db:
            server = ServerProcess(tmp_path / "data", db, extra_args=["--workers", "2", "--redis", redis.url])
            server.start(timeout=120)
            try:
                yield server, record
            finally:
                server.stop()
    finally:
        redis.stop()


def send(server: ServerProcess, method: str, path: str, body: Any) -> httpx.Response:
    """One request on a fresh connection (with workers, requests spread over the processes)."""
    with httpx.Client(base_url=server.url, timeout=30.0, headers=API_HEADERS) as client:
        response = client.request(method, path, json=body)
    assert response.status_code < 300, response.text
    return response


def recorded(record: Path) -> list[dict[str, Any]]:
    if not record.exists():
        return []
    return [json.loads(line) for line in record.read_text().splitlines() if line]


def wait_for(record: Path, done: Any, timeout: float = 30.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        seen = recorded(record)
        if done(seen) or time.monotonic() > deadline:
            return seen
        time.sleep(0.1)


def in_commit_order(seen: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per process the recorder writes in delivery order; across processes, by commit time."""
    return sorted(seen, key=lambda c: c["committed_at"])


def test_every_committed_change_reaches_the_subscriber_once_in_commit_order(
    recorded_server: tuple[ServerProcess, Path],
) -> None:
    server, record = recorded_server
    for run_id in RUNS:
        send(server, "POST", "/api/runs", {"id": run_id, "name": run_id, "project": "subs"})
    for step in range(STEPS):
        for run_id in RUNS:
            batch = {"stream": "s1", "points": [{"seq": step, "step": step, "metrics": {"loss": step / 8}}]}
            send(server, "POST", f"/api/runs/{run_id}/metrics", batch)
            if step == 3:  # a retry of a committed batch: the store ignores it, so it is no change
                assert send(server, "POST", f"/api/runs/{run_id}/metrics", batch).json()["accepted"] == 0
            text = f"raw {run_id} {step}\n".encode()
            raw = {"chunks": [{"seq": step, "source": "stdout", "data": base64.b64encode(text).decode()}]}
            send(server, "POST", f"/api/runs/{run_id}/logs/raw", {"stream": "t1", **raw})
            line = {"stream": "l1", "lines": [{"seq": step, "message": f"posted {run_id} {step}"}]}
            send(server, "POST", f"/api/runs/{run_id}/logs/batch", line)
    send(server, "POST", f"/api/runs/{RUNS[0]}/logs/raw", {"chunks": [{"source": "stdout", "data": "b3Blbg=="}]})
    for run_id in RUNS:
        send(server, "PUT", f"/api/runs/{run_id}", {"status": "completed", "exit_code": 0})

    def complete(seen: list[dict[str, Any]]) -> bool:
        return sum(1 for c in seen if c["kind"] == "StatusChange") >= len(RUNS)

    seen = wait_for(record, complete)
    time.sleep(0.5)  # anything delivered twice would arrive now
    seen = in_commit_order(recorded(record))
    for run_id in RUNS:
        mine = [c for c in seen if c["run_id"] == run_id]
        assert all(c["project"] == "subs" for c in mine)
        kinds = [c["kind"] for c in mine]
        assert kinds[0] == "RunCreated" and kinds[-1] == "StatusChange"
        steps = [s[0] for c in mine if c["kind"] == "MetricBatch" for s in c["steps"]]
        assert steps == list(range(STEPS))  # each batch once, the re-sent one not again, in order
        assert [c["steps"][0][1] for c in mine if c["kind"] == "MetricBatch"] == [{"loss": s / 8} for s in steps]
        lines = [tuple(x) for c in mine if c["kind"] == "LineBatch" for x in c["lines"]]
        numbers = [n for n, _text in lines]
        assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)  # once each, in commit order
        texts = [text for _n, text in lines]
        assert sorted(t for t in texts if t.startswith("raw")) == sorted(f"raw {run_id} {s}" for s in range(STEPS))
        assert sorted(t for t in texts if t.startswith("posted")) == sorted(
            f"posted {run_id} {s}" for s in range(STEPS)
        )
        raw_bytes = sum(c["bytes"] for c in mine if c["kind"] == "TerminalOutput")
        assert raw_bytes == sum(len(f"raw {run_id} {s}\n") for s in range(STEPS)) + (4 if run_id == RUNS[0] else 0)
        status = [c for c in mine if c["kind"] == "StatusChange"]
        assert [(c["old"], c["new"], c["origin"]) for c in status] == [("running", "completed", "api")]
    # the open line "open" (no newline) became final when its run ended: handed on before the status change
    first = [c for c in seen if c["run_id"] == RUNS[0]]
    assert first[-2]["kind"] == "LineBatch" and first[-2]["lines"][-1][1] == "open"
    log = server.log_path.read_text() if server.log_path else ""
    assert "subscriber 'failing' failed on MetricBatch of run sub-a" in log
    assert "failing subscriber refuses MetricBatch" in log  # the exception itself, with its traceback
