"""The dashboard WebSocket's resume (``/ws?after=ID``) and ``run_updated``, against real server processes."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import psutil
import pytest
from tests.support.scale import PrivateRedis
from tests.support.servers import ServerProcess, postgres_database
from websockets.sync.client import ClientConnection, connect

from trainboard import TrainingMonitor

FEED = ("run_created", "status_change", "run_updated", "run_deleted", "reset")


def ws_url(server: ServerProcess, after: int | None = None) -> str:
    return server.url.replace("http", "ws") + "/ws" + (f"?after={after}" if after is not None else "")


def feed_messages(ws: ClientConnection, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
    """The next ``count`` run-list messages (heartbeats and the like skipped)."""
    got: list[dict[str, Any]] = []
    while len(got) < count:
        msg: dict[str, Any] = json.loads(ws.recv(timeout=timeout))
        if msg["type"] in FEED:
            got.append(msg)
    return got


def nothing_more(ws: ClientConnection, wait: float = 1.0) -> None:
    """No further run-list message arrives within ``wait`` seconds."""
    deadline = time.monotonic() + wait
    while (left := deadline - time.monotonic()) > 0:
        try:
            msg = json.loads(ws.recv(timeout=left))
        except TimeoutError:
            return
        assert msg["type"] not in FEED, f"unexpected {msg}"


def synced(ws: ClientConnection) -> None:
    """The socket is open and its replay (if any) sent: a ping's answer comes after it."""
    ws.send(json.dumps({"type": "ping"}))
    while json.loads(ws.recv(timeout=10))["type"] != "pong":
        pass


def make_changes(http: httpx.Client, prefix: str) -> list[tuple[str, str]]:
    """Six run-list changes; returns the (type, run id) a client resuming from before them gets, in order
    (a run created and deleted meanwhile: only its deletion, its other events went with it)."""
    http.post("/api/runs", json={"id": f"{prefix}1", "name": "first"}).raise_for_status()
    http.post(f"/api/runs/{prefix}1/tags", json={"add": ["best"]}).raise_for_status()
    http.put(f"/api/runs/{prefix}1", json={"notes": "looks good", "name": "renamed"}).raise_for_status()
    http.put(f"/api/runs/{prefix}1", json={"status": "completed", "exit_code": 0}).raise_for_status()
    http.post("/api/runs", json={"id": f"{prefix}2"}).raise_for_status()
    http.delete(f"/api/runs/{prefix}2").raise_for_status()
    return [
        ("run_created", f"{prefix}1"),
        ("run_updated", f"{prefix}1"),
        ("run_updated", f"{prefix}1"),
        ("status_change", f"{prefix}1"),
        ("run_deleted", f"{prefix}2"),
    ]


def kind_and_run(msg: dict[str, Any]) -> tuple[str, str]:
    return msg["type"], msg["run"]["id"] if msg["type"] == "run_created" else msg["run_id"]


def check_resume(server: ServerProcess, http: httpx.Client, *, restart: bool) -> None:
    with connect(ws_url(server)) as ws:
        synced(ws)
        http.post("/api/runs", json={"id": "seen"}).raise_for_status()
        (last,) = feed_messages(ws, 1)
        assert last["type"] == "run_created" and isinstance(last["id"], int)
    # the client is away while six things happen (and, maybe, the server restarts)
    expected = make_changes(http, "m")
    if restart:
        server.stop()
        server.start()
    with connect(ws_url(server, after=last["id"])) as ws:
        missed = feed_messages(ws, len(expected))
        assert [kind_and_run(m) for m in missed] == expected
        ids = [m["id"] for m in missed]
        assert ids == sorted(ids) and len(set(ids)) == len(ids) and ids[0] > last["id"]
        assert missed[1]["changes"] == {"tags": ["best"]}
        assert missed[2]["changes"] == {"name": "renamed", "notes": "looks good"}
        assert missed[3]["new_status"] == "completed" and missed[3]["run"]["name"] == "renamed"
        nothing_more(ws)  # no duplicates of what was replayed
        http.put("/api/runs/m1", json={"archived": True}).raise_for_status()
        (live,) = feed_messages(ws, 1)
        assert kind_and_run(live) == ("run_updated", "m1") and live["changes"] == {"archived": True}
        assert live["id"] > ids[-1]


def test_a_client_resumes_with_its_last_id_and_gets_exactly_what_it_missed(
    server: ServerProcess, http: httpx.Client
) -> None:
    check_resume(server, http, restart=False)


def test_resume_works_across_a_server_restart(server: ServerProcess, http: httpx.Client) -> None:
    check_resume(server, http, restart=True)


def test_an_unknown_or_too_old_offset_gets_one_reset(server: ServerProcess, http: httpx.Client) -> None:
    http.post("/api/runs", json={"id": "r"}).raise_for_status()
    with connect(ws_url(server, after=10**15)) as ws:
        (reset,) = feed_messages(ws, 1)
        assert reset["type"] == "reset" and reset["id"] >= 1
        nothing_more(ws, 0.5)
    with connect(ws_url(server) + "?after=-3") as ws:
        msg = json.loads(ws.recv(timeout=10))
        assert msg["type"] == "error" and "after" in msg["message"]
        synced(ws)  # the socket stays open


def test_a_second_dashboard_sees_tags_change(server: ServerProcess, http: httpx.Client) -> None:
    http.post("/api/runs", json={"id": "t", "name": "tagged"}).raise_for_status()
    with connect(ws_url(server)) as watcher:
        synced(watcher)
        http.post("/api/runs/t/tags", json={"add": ["baseline", "v2"]}).raise_for_status()
        (msg,) = feed_messages(watcher, 1)
        assert msg["type"] == "run_updated" and msg["run_id"] == "t"
        assert sorted(msg["changes"]["tags"]) == ["baseline", "v2"] and msg["run"]["name"] == "tagged"
        http.post("/api/runs/t/tags", json={"add": ["v2"]}).raise_for_status()  # nothing changes
        http.put("/api/runs/t", json={"name": "tagged"}).raise_for_status()  # nor here
        nothing_more(watcher)


def test_sdk_tags_and_notes_reach_an_open_dashboard(server: ServerProcess) -> None:
    with connect(ws_url(server)) as watcher:
        synced(watcher)
        with TrainingMonitor(
            run_name="sdk",
            dashboard_url=server.url,
            data_dir=server.data_dir / "client",
            system_metrics=False,
            capture_output=False,
        ) as mon:
            mon.add_tags("sweep")
            mon.notes = "lr too high?"
        got = feed_messages(watcher, 4)  # created, tags, notes, completed (the SDK sends them in order)
    assert [m["type"] for m in got] == ["run_created", "run_updated", "run_updated", "status_change"]
    assert [m["changes"] for m in got[1:3]] == [{"tags": ["sweep"]}, {"notes": "lr too high?"}]
    assert {m.get("run_id", mon.run_id) for m in got} == {mon.run_id}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, PrivateRedis]]:
    """Two workers on PostgreSQL behind one port, their fan-out through a private Redis."""
    root = tmp_path_factory.mktemp("resume-workers")
    redis = PrivateRedis(root / "redis").start()
    try:
        with postgres_database() as db:
            server = ServerProcess(root / "data", db, extra_args=["--workers", "2", "--redis", redis.url])
            server.start(timeout=90)
            try:
                assert server.proc is not None
                deadline = time.monotonic() + 30
                while len(psutil.Process(server.proc.pid).children()) < 2 and time.monotonic() < deadline:
                    time.sleep(0.2)
                yield server, redis
            finally:
                server.stop()
    finally:
        redis.stop()


@pytest.mark.postgres
def test_resume_with_two_workers(cluster: tuple[ServerProcess, PrivateRedis]) -> None:
    # each connection lands on either worker; the ids are the database's, so any worker resumes any client
    server, _redis = cluster
    with server.client() as http:
        for _ in range(3):
            check_resume(server, http, restart=False)
            for run in ("seen", "m1"):
                http.delete(f"/api/runs/{run}").raise_for_status()


@pytest.mark.postgres
def test_resume_while_redis_is_down(cluster: tuple[ServerProcess, PrivateRedis]) -> None:
    server, redis = cluster
    with connect(ws_url(server, after=10**15)) as ws:  # an id from the future: the reset says the newest
        (reset,) = feed_messages(ws, 1)
    redis.stop()
    try:
        time.sleep(2)  # the workers notice (health ping every second) and deliver locally
        with server.client() as http:
            expected = make_changes(http, "d")
        with connect(ws_url(server, after=reset["id"])) as ws:
            assert [kind_and_run(m) for m in feed_messages(ws, len(expected))] == expected
    finally:
        redis.start()
