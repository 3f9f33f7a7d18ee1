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


def resumed(ws: ClientConnection, after: int, count: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A socket resumed after ``after``: (the settle window: messages below ``after`` that PostgreSQL's replay
    re-sends, a client drops the ids it has; the next ``count`` messages after ``after``). Each id comes once,
    the window first, and never ``after`` itself."""
    window: list[dict[str, Any]] = []
    newer: list[dict[str, Any]] = []
    ids: set[int] = set()
    while len(newer) < count:
        (msg,) = feed_messages(ws, 1)
        assert msg["id"] not in ids and msg["id"] != after, f"sent twice: {msg}"
        ids.add(msg["id"])
        if msg["id"] < after:
            assert not newer, f"window message after a newer one: {msg}"
            window.append(msg)
        else:
            newer.append(msg)
    return window, newer


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
        window, missed = resumed(ws, last["id"], len(expected))
        if server.db_url is None:  # SQLite commits in id order: nothing below the resume point is sent
            assert window == []
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


def replayed(ws: ClientConnection) -> list[dict[str, Any]]:
    """The run-list messages a just-opened socket sends before the answer to a ping (its replay), each id
    once."""
    ws.send(json.dumps({"type": "ping"}))
    got: list[dict[str, Any]] = []
    while (msg := json.loads(ws.recv(timeout=10)))["type"] != "pong":
        if msg["type"] in FEED:
            got.append(msg)
    ids = [m["id"] for m in got]
    assert len(set(ids)) == len(ids), f"sent twice: {got}"
    return got


@pytest.mark.postgres
def test_an_event_committed_after_a_later_one_reaches_a_resumed_client_once(
    cluster: tuple[ServerProcess, PrivateRedis],
) -> None:
    # PostgreSQL hands out ids when rows are written, not when they commit: id N+1 can be visible before N
    import psycopg

    server, _redis = cluster
    assert server.db_url is not None
    with server.client() as http:
        http.post("/api/runs", json={"id": "late", "name": "late"}).raise_for_status()
        with psycopg.connect(server.db_url) as slow:  # a transaction writes an event and stays open ...
            row = slow.execute(
                "INSERT INTO events (run_id, time, kind, message, data) VALUES (%s, %s, %s, %s, %s) RETURNING id",
                ("late", time.time(), "run_updated", "changed: notes", json.dumps({"changes": {"notes": "late"}})),
            ).fetchone()
            assert row is not None
            late_id = int(row[0])
            with connect(ws_url(server)) as ws:
                synced(ws)
                http.put("/api/runs/late", json={"name": "later"}).raise_for_status()  # ... a later one commits
                (later,) = feed_messages(ws, 1)
            assert later["id"] > late_id
            handled = {later["id"]}  # the ids a client (web/src/api/live.ts) has handled: it drops them if re-sent
            with connect(ws_url(server, after=later["id"])) as ws:  # it resumes while the first is in flight
                first = replayed(ws)
            assert late_id not in {m["id"] for m in first}
            handled |= {m["id"] for m in first}
            slow.commit()  # ... and then the first commits
        with connect(ws_url(server, after=max(handled))) as ws:  # the next resume brings it
            second = replayed(ws)
        new = [m for m in second if m["id"] not in handled]
        assert [(m["type"], m["id"], m["changes"]) for m in new] == [("run_updated", late_id, {"notes": "late"})]
        handled |= {m["id"] for m in second}
        with connect(ws_url(server, after=max(handled))) as ws:  # and no later one brings it again
            assert [m for m in replayed(ws) if m["id"] not in handled] == []


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
            assert [kind_and_run(m) for m in resumed(ws, reset["id"], len(expected))[1]] == expected
    finally:
        redis.start()


def test_each_change_carries_the_id_of_its_own_event(server: ServerProcess, http: httpx.Client) -> None:
    # two status changes of one run within milliseconds: each message has its event's id (a client that
    # left between them resumes with the first's id and gets the second)
    with connect(ws_url(server)) as ws:
        synced(ws)
        http.post("/api/runs", json={"id": "quick"}).raise_for_status()
        http.put("/api/runs/quick", json={"status": "completed", "exit_code": 0}).raise_for_status()
        http.put("/api/runs/quick", json={"status": "running"}).raise_for_status()
        got = feed_messages(ws, 3)
    stored = http.get("/api/runs/quick/events").raise_for_status().json()["events"]
    ids = {kind: [e["id"] for e in stored if e["kind"] == kind] for kind in ("run_created", "status_change")}
    assert [(m["type"], m["id"]) for m in got] == [
        ("run_created", ids["run_created"][0]),
        ("status_change", ids["status_change"][0]),
        ("status_change", ids["status_change"][1]),
    ]
    with connect(ws_url(server, after=got[1]["id"])) as ws:
        (missed,) = resumed(ws, got[1]["id"], 1)[1]
    assert missed["id"] == got[2]["id"] and missed["new_status"] == "running"
