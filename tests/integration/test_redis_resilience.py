"""Redis is never the source of truth: with it stopped mid-run, ingest goes on and nothing is lost; live
views on another server process catch up from the database meanwhile, and live fan-out comes back by
itself when Redis does. Uses a private redis-server (the shared one is never touched)."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.support.scale import Follower, PrivateRedis, prometheus, wait_metric
from tests.support.servers import API_HEADERS, ServerProcess, postgres_database
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[PrivateRedis, ServerProcess, ServerProcess]]:
    root = tmp_path_factory.mktemp("redis-resilience")
    redis = PrivateRedis(root / "redis").start()
    try:
        with postgres_database() as db:
            args = ["--redis", redis.url]
            a = ServerProcess(root / "a", db, extra_args=args).start()
            b = ServerProcess(root / "b", db, extra_args=args).start()
            try:
                yield redis, a, b
            finally:
                a.stop()
                b.stop()
    finally:
        redis.stop()


def _append(client: httpx.Client, run_id: str, seq: int, text: bytes) -> float:
    """Post raw terminal bytes; returns the seconds the request took."""
    started = time.monotonic()
    resp = client.post(
        f"/api/runs/{run_id}/logs/raw",
        json={"stream": "pty", "chunks": [{"seq": seq, "source": "stdout", "data": base64.b64encode(text).decode()}]},
    )
    assert resp.status_code == 200, resp.text
    return time.monotonic() - started


class LineWatcher:
    """The line WebSocket of a run on one server, in a thread: every final line's number and text, and the
    open (provisional) lines as last sent."""

    def __init__(self, url: str, run_id: str) -> None:
        self.lines: list[tuple[int, str]] = []
        self.open: list[str] = []
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._url = url.replace("http://", "ws://") + f"/api/runs/{run_id}/logs/stream"
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        assert self._ready.wait(15), "the line socket did not open"

    def _run(self) -> None:
        with connect(self._url, open_timeout=10) as ws:
            self._ready.set()
            while not self._stop.is_set():
                try:
                    message: Any = json.loads(ws.recv(timeout=0.5))
                except TimeoutError:
                    continue
                except ConnectionClosed:
                    return
                if message.get("type") == "lines":
                    self.lines += [(ln["line_number"], ln["message"]) for ln in message["lines"]]
                elif message.get("type") == "open":
                    self.open = [ln["message"] for ln in message["lines"]]

    def texts(self) -> list[str]:
        """What a viewer shows: the final lines, then the open ones."""
        return [text for _n, text in self.lines] + self.open

    def wait_for(self, texts: list[str], timeout: float = 15.0) -> list[str]:
        deadline = time.monotonic() + timeout
        while self.texts() != texts and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.texts()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)


def test_redis_stopped_mid_run_loses_nothing_and_live_views_recover(
    cluster: tuple[PrivateRedis, ServerProcess, ServerProcess], tmp_path: Path
) -> None:
    redis, a, b = cluster
    with httpx.Client(base_url=a.url, timeout=30, headers=API_HEADERS) as ca:
        assert ca.post("/api/runs", json={"id": "outage", "name": "outage"}).status_code in (200, 201)
        follower = Follower(b.url, "outage")  # the viewer is on process B, the writer on A
        late: ServerProcess | None = None
        late_follower: Follower | None = None
        lines = LineWatcher(b.url, "outage")
        try:
            time.sleep(0.5)
            _append(ca, "outage", 0, b"before the outage\n")
            assert follower.wait_for(b"before the outage\n") == b"before the outage\n"
            assert lines.wait_for(["before the outage"]) == ["before the outage"]

            redis.stop()
            # ingest does not wait for Redis, and every write is kept
            took = _append(ca, "outage", 1, b"during the outage\n")
            assert took < 3.0
            metrics = ca.post("/api/runs/outage/metrics", json={"step": 1, "metrics": {"loss": 0.5}})
            assert metrics.status_code == 200, metrics.text
            expected = b"before the outage\nduring the outage\n"
            # B's viewers catch up from the database while Redis is away
            assert follower.wait_for(expected) == expected
            assert lines.wait_for(["before the outage", "during the outage"]) == [
                "before the outage",
                "during the outage",
            ]
            assert wait_metric(a.url, "trainboard_redis_up", 0.0) == 0.0
            assert wait_metric(b.url, "trainboard_redis_up", 0.0) == 0.0
            # a process started while Redis is down serves (degraded) and shows the run
            late = ServerProcess(tmp_path / "late", a.db_url, extra_args=["--redis", redis.url]).start(timeout=60)
            late_follower = Follower(late.url, "outage")
            assert late_follower.wait_for(expected) == expected

            redis.start()
            for server in (a, b, late):
                assert wait_metric(server.url, "trainboard_redis_up", 1.0) == 1.0
            _append(ca, "outage", 2, b"after the outage\n")
            expected += b"after the outage\n"
            assert follower.wait_for(expected, timeout=5) == expected
            assert late_follower.wait_for(expected, timeout=5) == expected
            want = ["before the outage", "during the outage", "after the outage"]
            assert lines.wait_for(want, timeout=5) == want
            assert prometheus(b.url, "trainboard_redis_up") == 1.0
            # the run ends: every line is final, each once
            assert ca.put("/api/runs/outage", json={"status": "completed"}).status_code == 200
            deadline = time.monotonic() + 10
            while [t for _n, t in lines.lines] != want and time.monotonic() < deadline:
                time.sleep(0.05)
            assert [t for _n, t in lines.lines] == want
            assert follower.done.wait(10)
        finally:
            follower.close()
            lines.close()
            if late_follower is not None:
                late_follower.close()
            if late is not None:
                late.stop()
                assert late.log_path is not None
                assert "Redis at redis://127.0.0.1" in late.log_path.read_text()  # the warning at its start
        stored = ca.get("/api/runs/outage/logs")
        assert stored.content == expected
        history = ca.get("/api/runs/outage/metrics", params={"keys": "loss"}).json()["metrics"]["loss"]
        assert history["step"] == [1] and history["value"] == [0.5]
