"""Open streams end when their credentials do: a revoked token closes an SSE stream and a WebSocket, a logout
closes a WebSocket opened with the session cookie (the gate re-checks every couple of seconds)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.support.auth import PASSWORDS, Seeded, add_token, seed
from tests.support.servers import API_HEADERS, ServerProcess
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

#: A bound on "within seconds" for the failure message, not a timing figure (the re-check runs every 2 s).
BOUND = 20.0


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[ServerProcess, Seeded]]:
    seeded = seed(tmp_path / "data")
    server = ServerProcess(data_dir=tmp_path / "data", db_url=None).start()
    try:
        with httpx.Client(base_url=server.url, headers=seeded.headers("ed")) as c:
            c.post("/api/runs", json={"id": "live", "name": "live"}).raise_for_status()
        yield server, seeded
    finally:
        server.stop()


def _revoke(server: ServerProcess, seeded: Seeded, token_id: int) -> None:
    with httpx.Client(base_url=server.url, headers=seeded.headers("ann")) as c:
        assert c.delete(f"/api/tokens/{token_id}").status_code == 204


def test_revoking_a_token_ends_its_event_stream(tmp_path: Path, world: tuple[ServerProcess, Seeded]) -> None:
    server, seeded = world
    token_id, token = add_token(tmp_path / "data", name="watcher", scope="read", user="vic")
    opened, ended = threading.Event(), threading.Event()
    seen: list[bytes] = []

    def watch() -> None:
        headers = {"Authorization": f"Bearer {token}"}
        with (
            httpx.Client(base_url=server.url, timeout=httpx.Timeout(10.0, read=60.0)) as c,
            c.stream("GET", "/api/runs/live/logs/stream", headers=headers) as r,
        ):
            seen.append(str(r.status_code).encode())
            opened.set()
            for chunk in r.iter_bytes():
                seen.append(chunk)
        ended.set()

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    assert opened.wait(BOUND)
    assert seen[0] == b"200"
    assert not ended.wait(3.0), "the stream ended before the token was revoked"
    _revoke(server, seeded, token_id)
    assert ended.wait(BOUND), "the event stream stayed open after its token was revoked"
    with httpx.Client(base_url=server.url) as c:  # and the token is refused at once
        assert c.get("/api/runs", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_revoking_a_token_closes_its_websockets(tmp_path: Path, world: tuple[ServerProcess, Seeded]) -> None:
    server, seeded = world
    token_id, token = add_token(tmp_path / "data", name="socket", scope="read", user="vic")
    base = server.url.replace("http://", "ws://")
    headers = {"Authorization": f"Bearer {token}"}
    with (
        connect(base + "/ws", additional_headers=headers) as dash,
        connect(base + "/api/runs/live/logs/stream", additional_headers=headers) as lines,
    ):
        dash.send('{"type": "ping"}')
        assert "pong" in str(dash.recv(timeout=BOUND))
        _revoke(server, seeded, token_id)
        for sock in (dash, lines):
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    sock.recv(timeout=BOUND)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008


def test_logging_out_closes_the_sessions_websocket(world: tuple[ServerProcess, Seeded]) -> None:
    server, _ = world
    with httpx.Client(base_url=server.url, headers=API_HEADERS) as c:
        assert c.post("/api/auth/login", json={"username": "vic", "password": PASSWORDS["vic"]}).status_code == 200
        cookie = f"trainboard_session={c.cookies['trainboard_session']}"
        with connect(server.url.replace("http://", "ws://") + "/ws", additional_headers={"Cookie": cookie}) as dash:
            dash.send('{"type": "ping"}')
            assert "pong" in str(dash.recv(timeout=BOUND))
            assert c.post("/api/auth/logout").status_code == 204
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    dash.recv(timeout=BOUND)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
