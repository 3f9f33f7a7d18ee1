"""The lines WebSocket has its own URL (``/api/runs/{id}/lines/ws``); the old shared one still serves it."""

from __future__ import annotations

import json

import httpx
import pytest
from tests.support.servers import ServerProcess
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect


def first_lines(url: str) -> list[str]:
    with connect(url) as ws:
        while True:
            msg = json.loads(ws.recv(timeout=30))
            if msg["type"] == "lines":
                return [line["message"] for line in msg["lines"]]


def test_the_lines_socket_answers_on_its_own_url_and_the_old_one(server: ServerProcess, http: httpx.Client) -> None:
    http.post("/api/runs", json={"id": "sock"})
    assert http.post("/api/runs/sock/logs/batch", json={"lines": [{"message": "a"}, {"message": "b"}]}).is_success
    base = server.url.replace("http://", "ws://")
    assert first_lines(f"{base}/api/runs/sock/lines/ws") == ["a", "b"]
    assert first_lines(f"{base}/api/runs/sock/logs/stream") == ["a", "b"]
    for path in ("lines/ws", "logs/stream"):  # an unknown run: refused before the handshake completes, alike
        with pytest.raises(InvalidStatus) as caught, connect(f"{base}/api/runs/nope/{path}"):
            pass
        assert caught.value.response.status_code == 403
