"""``trainboard serve --workers N``: several processes on one port, PostgreSQL + Redis.

A client may land on any worker: live streams on one worker get what is ingested through another, a
worker killed with SIGKILL is replaced and its clients resume on the others, the background jobs run in
one worker at a time, and the stream caps are per worker (documented). SQLite is refused."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest
from tests.support.scale import Follower, PrivateRedis, prometheus, wait_metric
from tests.support.servers import API_HEADERS, ServerProcess, postgres_database


def _serve(*args: str, data: Path) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "trainboard.cli", "serve", "--port", "0", "--data", str(data), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60)


def test_several_workers_on_sqlite_are_refused_naming_sqlite(tmp_path: Path) -> None:
    result = _serve("--workers", "2", data=tmp_path)
    assert result.returncode == 2
    assert "SQLite" in result.stderr and "--workers 2" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "trainboard.db").exists()  # refused before anything was created


@pytest.mark.postgres
def test_several_workers_without_redis_are_refused(tmp_path: Path) -> None:
    with postgres_database() as db:
        result = _serve("--workers", "3", "--db", db, data=tmp_path)
    assert result.returncode == 2
    assert "--redis" in result.stderr and "Traceback" not in result.stderr


def _workers(server: ServerProcess) -> list[psutil.Process]:
    assert server.proc is not None
    return psutil.Process(server.proc.pid).children()


def _streams_held(worker: psutil.Process, port: int) -> int:
    """Client connections to the server's port that this worker holds."""
    return sum(
        1 for c in worker.net_connections("tcp") if c.laddr and c.laddr.port == port and c.status == "ESTABLISHED"
    )


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    root = tmp_path_factory.mktemp("workers")
    redis = PrivateRedis(root / "redis").start()
    try:
        with postgres_database() as db:
            server = ServerProcess(
                root / "data",
                db,
                extra_args=[
                    "--workers",
                    "2",
                    "--redis",
                    redis.url,
                    "--heartbeat-timeout",
                    "2",
                    "--max-streams-per-client",
                    "6",
                    "--log-format",
                    "json",
                    "--log-file",
                    str(root / "log" / "server.log"),
                ],
            ).start(timeout=90)
            try:
                deadline = time.monotonic() + 30
                while len(_workers(server)) < 2 and time.monotonic() < deadline:
                    time.sleep(0.2)
                yield server
            finally:
                server.stop()
    finally:
        redis.stop()


def _append(url: str, run_id: str, seq: int, text: bytes) -> None:
    # a new connection per request: the kernel hands each to either worker
    resp = httpx.post(
        f"{url}/api/runs/{run_id}/logs/raw",
        json={"stream": "pty", "chunks": [{"seq": seq, "source": "stdout", "data": base64.b64encode(text).decode()}]},
        headers=API_HEADERS,
        timeout=30,
    )
    assert resp.status_code == 200, resp.text


@contextlib.contextmanager
def heartbeats(url: str, run_id: str) -> Iterator[None]:
    """Keep the run alive as the SDK does (the cluster's watchdog ends runs silent for 2 s)."""
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(0.5):
            with contextlib.suppress(httpx.HTTPError):
                httpx.post(f"{url}/api/runs/{run_id}/heartbeat", headers=API_HEADERS, timeout=5)

    thread = threading.Thread(target=beat, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(10)


def test_viewers_on_every_worker_get_everything_and_survive_a_killed_worker(cluster: ServerProcess) -> None:
    server = cluster
    workers = _workers(server)
    assert len(workers) == 2
    assert httpx.post(f"{server.url}/api/runs", json={"id": "multi"}, headers=API_HEADERS).status_code in (200, 201)
    followers: list[Follower] = []
    with heartbeats(server.url, "multi"):
        _follow_through_a_worker_kill(server, workers, followers)


def _follow_through_a_worker_kill(
    server: ServerProcess, workers: list[psutil.Process], followers: list[Follower]
) -> None:
    try:
        # open viewers until both workers hold some (each viewer is a new connection)
        for _ in range(12):
            followers.append(Follower(server.url, "multi"))
            time.sleep(0.3)
            if all(_streams_held(w, server.port) for w in workers) and len(followers) >= 4:
                break
        held = [_streams_held(w, server.port) for w in workers]
        assert all(held), f"the kernel gave every viewer to one worker: {held}"
        expected = b""
        for seq in range(10):
            line = f"step {seq} from a request on any worker\n".encode()
            _append(server.url, "multi", seq, line)
            expected += line
        for follower in followers:
            assert follower.wait_for(expected) == expected

        victim = workers[0]
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            now = _workers(server)
            if len(now) == 2 and victim.pid not in {w.pid for w in now}:
                break
            time.sleep(0.2)
        assert len(_workers(server)) == 2  # replaced
        for seq in range(10, 15):
            line = f"step {seq} after a worker was killed\n".encode()
            for _attempt in range(20):  # a request that met the dying worker is retried, as the SDK does
                try:
                    _append(server.url, "multi", seq, line)
                    break
                except httpx.TransportError:
                    time.sleep(0.2)
            expected += line
        for follower in followers:
            assert follower.wait_for(expected, timeout=30) == expected  # nothing lost, nothing twice
        assert httpx.get(f"{server.url}/api/runs/multi/logs").content == expected
        # the once-per-cluster jobs run in exactly one worker, also after the kill
        assert wait_metric(server.url, "trainboard_background_leader", 1.0) == 1.0
    finally:
        for follower in followers:
            follower.close()


def test_background_jobs_run_once_across_workers(cluster: ServerProcess) -> None:
    server = cluster
    assert wait_metric(server.url, "trainboard_background_leader", 1.0) == 1.0
    with server.client() as c:
        assert c.post("/api/runs", json={"id": "silent"}).status_code in (200, 201)
        deadline = time.monotonic() + 30
        while c.get("/api/runs/silent").json()["status"] == "running" and time.monotonic() < deadline:
            time.sleep(0.3)
        assert c.get("/api/runs/silent").json()["status"] == "interrupted"
        time.sleep(3)  # a second watchdog would have had time to act too
        events = c.get("/api/runs/silent/events").json()["events"]
    interrupted = [e for e in events if "interrupted" in json.dumps(e)]
    assert len(interrupted) == 1, events


def test_stream_caps_are_per_worker_and_answer_429(cluster: ServerProcess) -> None:
    server = cluster
    with server.client() as c:
        assert c.post("/api/runs", json={"id": "capped"}).status_code in (200, 201)
    # streams of earlier tests end on the server once it notices their clients left (its next keep-alive)
    deadline = time.monotonic() + 40
    while prometheus(server.url, "trainboard_open_streams", '{kind="sse"}') not in (0.0, None):
        assert time.monotonic() < deadline, "streams of earlier tests are still open"
        time.sleep(0.3)
    opened: list[httpx.Response] = []
    clients: list[httpx.Client] = []
    with contextlib.ExitStack() as stack:
        stack.enter_context(heartbeats(server.url, "capped"))  # a run that ends would end its streams
        for closer in (opened, clients):
            stack.callback(_close_all, closer)
        refused = _open_until_refused(server, opened, clients)
    assert refused is not None, "13 streams from one address and no 429"
    assert len(opened) >= 6  # one worker alone never refuses before its 7th
    assert refused.headers["retry-after"]
    assert "limit is 6 per client" in refused.json()["detail"]


def _close_all(things: list[httpx.Response] | list[httpx.Client]) -> None:
    for thing in things:
        thing.close()


def _open_until_refused(
    server: ServerProcess, opened: list[httpx.Response], clients: list[httpx.Client]
) -> httpx.Response | None:
    """Open streams of the run "capped" from one address until one is refused (returned) or 13 are open."""
    for _ in range(2 * 6 + 1):  # 6 per client address per worker, 2 workers
        client = httpx.Client(timeout=10)
        clients.append(client)
        req = client.build_request("GET", f"{server.url}/api/runs/capped/logs/stream")
        resp = client.send(req, stream=True)
        if resp.status_code == 429:
            resp.read()
            return resp
        assert resp.status_code == 200
        opened.append(resp)
    return None


def test_metrics_and_json_log_cover_every_worker(cluster: ServerProcess) -> None:
    server = cluster
    with server.client() as c:
        assert c.post("/api/runs", json={"id": "counted"}).status_code in (200, 201)
        before = prometheus(server.url, "trainboard_ingested_points_total") or 0.0
        for step in range(20):  # new connections: both workers ingest some
            resp = httpx.post(
                f"{server.url}/api/runs/counted/metrics",
                json={"step": step, "metrics": {"loss": 1.0 / (step + 1), "acc": 0.5}},
                timeout=30,
            )
            assert resp.status_code == 200
    assert prometheus(server.url, "trainboard_ingested_points_total") == before + 40  # summed over workers
    assert prometheus(server.url, "trainboard_database_up") == 1.0
    assert prometheus(server.url, "trainboard_redis_up") == 1.0
    log_file = Path(server.data_dir).parent / "log" / "server.log"
    events = [json.loads(line) for line in log_file.read_text().splitlines() if line.strip()]
    posts = [e for e in events if e.get("run_id") == "counted" and e.get("route") == "/api/runs/{run_id}/metrics"]
    assert len(posts) == 20
    assert all(e["status"] == 200 and e["duration_ms"] >= 0 and e["method"] == "POST" for e in posts)
    assert len({e["pid"] for e in events if e.get("logger") == "trainboard.access"}) >= 2
    assert os.path.getsize(log_file) > 0


@pytest.mark.postgres
def test_the_background_jobs_move_to_another_process_when_their_holder_is_killed(tmp_path: Path) -> None:
    with postgres_database() as db:
        args = ["--heartbeat-timeout", "2"]
        servers = [ServerProcess(tmp_path / name, db, extra_args=args).start(timeout=90) for name in ("a", "b")]
        try:
            deadline = time.monotonic() + 30
            leaders: list[ServerProcess] = []
            while time.monotonic() < deadline:
                leaders = [s for s in servers if prometheus(s.url, "trainboard_background_leader") == 1.0]
                if len(leaders) == 1:
                    break
                time.sleep(0.3)
            assert len(leaders) == 1  # each process reports its own figure here: exactly one runs the jobs
            holder = leaders[0]
            other = next(s for s in servers if s is not holder)
            holder.kill()  # SIGKILL: PostgreSQL ends its session and releases the lock
            assert wait_metric(other.url, "trainboard_background_leader", 1.0, timeout=30) == 1.0
            with other.client() as c:  # and the jobs do run there: a silent run is marked interrupted
                assert c.post("/api/runs", json={"id": "orphan"}).status_code in (200, 201)
                deadline = time.monotonic() + 30
                while c.get("/api/runs/orphan").json()["status"] == "running" and time.monotonic() < deadline:
                    time.sleep(0.3)
                assert c.get("/api/runs/orphan").json()["status"] == "interrupted"
        finally:
            for server in servers:
                server.stop()


@pytest.mark.postgres
def test_a_killed_supervisor_takes_its_workers_with_it(tmp_path: Path) -> None:
    """SIGKILL of the supervisor (an OOM kill, a test runner's last resort): its workers stop too, instead of
    serving on from an orphaned process nobody supervises, and the port is free for the next start."""
    redis = PrivateRedis(tmp_path / "redis").start()
    workers: list[psutil.Process] = []
    try:
        with postgres_database() as db:
            server = ServerProcess(tmp_path / "data", db, extra_args=["--workers", "2", "--redis", redis.url])
            server.start(timeout=90)
            try:
                deadline = time.monotonic() + 30
                while len(_workers(server)) < 2 and time.monotonic() < deadline:
                    time.sleep(0.2)
                workers = _workers(server)
                assert len(workers) == 2
                server.kill()
                _, alive = psutil.wait_procs(workers, timeout=30)
                assert alive == [], [w.pid for w in alive]
                with pytest.raises(httpx.HTTPError):
                    httpx.get(server.url + "/health", timeout=2)
            finally:
                server.stop()
                for worker in workers:  # never leave one behind, whatever failed
                    with contextlib.suppress(psutil.Error):
                        worker.kill()
    finally:
        redis.stop()
