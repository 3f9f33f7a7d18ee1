"""Origin rules (server/http/guard.py) through a real server, for every route of each kind taken from the app's own
route table: every state-changing route, every WebSocket route, the event stream."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.routing import WebSocketRoute
from tests.support.servers import ServerProcess
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect
from websockets.typing import Origin

from trainboard.server.app import create_app
from trainboard.server.http.guard import WRITES
from trainboard.server.http.routes import iter_routes
from trainboard.server.settings import Settings

FOREIGN = "http://evil.example:8080"


class _Ids(dict[str, str]):
    """Path parameters: the objects the test made, and a name that exists nowhere for any other."""

    def __missing__(self, key: str) -> str:
        return "nothing-here"


IDS = _Ids(run_id="r1", checkpoint_id="c1")


def _routes(tmp: Path) -> tuple[list[tuple[str, str]], list[str]]:
    """(method, path) of every state-changing HTTP route and the path of every WebSocket route."""
    app = create_app(Settings(data_dir=tmp / "unused"))
    infos = list(iter_routes(app.routes))
    writes = [(m, i.path.format_map(IDS)) for i in infos for m in sorted(i.methods & WRITES)]
    sockets = [i.path.format_map(IDS) for i in infos if isinstance(i.route, WebSocketRoute)]
    return writes, sockets


def _snapshot(http: httpx.Client) -> dict[str, Any]:
    """What the write routes could change: the run, its checkpoints, log, lines and events."""
    run = http.get("/api/runs/r1").json()
    run.pop("heartbeat_time", None)
    return {
        "runs": [r["id"] for r in http.get("/api/runs").json()["runs"]],
        "run": run,
        "checkpoints": http.get("/api/runs/r1/checkpoints").json(),
        "log": http.get("/api/runs/r1/logs").content,
        "lines": http.get("/api/runs/r1/logs/lines").json()["total"],
        "events": http.get("/api/runs/r1/events").json(),
    }


@pytest.fixture
def populated(server: ServerProcess, http: httpx.Client, tmp_path: Path) -> httpx.Client:
    http.post("/api/runs", json={"id": "r1", "name": "target"}).raise_for_status()
    ckpt = tmp_path / "model.pt"
    ckpt.write_bytes(b"weights")
    http.post("/api/runs/r1/checkpoints", json={"id": "c1", "path": str(ckpt)}).raise_for_status()
    http.post("/api/runs/r1/logs", json={"message": "hello"}).raise_for_status()
    http.put("/api/runs/r1", json={"status": "interrupted"}).raise_for_status()
    return http


def test_state_changing_routes_refuse_what_a_cross_site_page_can_send(
    server: ServerProcess, populated: httpx.Client, tmp_path: Path
) -> None:
    writes, _ = _routes(tmp_path)
    assert ("POST", "/api/checkpoints/c1/best") in writes and ("POST", "/api/runs/r1/heartbeat") in writes
    assert len(writes) >= 12
    before = _snapshot(populated)
    attempts = [
        ({}, None),  # fetch(..., {method, mode: "no-cors"}) without a body
        ({"content-type": "text/plain"}, b'{"status": "running"}'),  # a no-cors fetch or form with a body
        ({"content-type": "application/x-www-form-urlencoded"}, b"status=running"),
        ({"content-type": "multipart/form-data; boundary=x"}, b"--x--\r\n"),
        ({"x-trainboard": "1", "origin": FOREIGN}, None),  # whatever else it carries: a foreign Origin
        ({"content-type": "application/json", "origin": "null"}, b"{}"),  # sandboxed frame, data: URL
        ({"x-trainboard": "1", "sec-fetch-site": "cross-site"}, None),
        ({"x-trainboard": "1", "sec-fetch-site": "same-site"}, None),  # another port of the same host
    ]
    with httpx.Client(base_url=server.url, timeout=30) as raw:  # no default headers at all
        for method, path in writes:
            for headers, body in attempts:
                resp = raw.request(method, path, headers=headers, content=body)
                assert resp.status_code in (403, 415), (method, path, headers, resp.status_code, resp.text)
                assert resp.json()["detail"], (method, path)
    assert _snapshot(populated) == before
    best = populated.get("/api/checkpoints/c1").json()
    assert not best.get("is_best")
    assert populated.get("/api/runs/r1").json()["status"] == "interrupted"


def test_the_servers_own_pages_and_api_clients_may_write(server: ServerProcess, populated: httpx.Client) -> None:
    own = server.url
    with httpx.Client(base_url=server.url, timeout=30) as raw:
        assert raw.post("/api/runs/r1/heartbeat", headers={"x-trainboard": "1", "origin": own}).status_code == 204
        marked = raw.post("/api/checkpoints/c1/best", headers={"x-trainboard": "1", "sec-fetch-site": "same-origin"})
        assert marked.status_code == 200
        resp = raw.post("/api/runs", json={"id": "r2"}, headers={"origin": own.replace("127.0.0.1", "localhost")})
        assert resp.status_code == 403  # localhost:P is another origin than 127.0.0.1:P
        host = f"localhost:{server.port}"
        resp = raw.post("/api/runs", json={"id": "r2"}, headers={"host": host, "origin": f"http://{host}"})
        assert resp.status_code == 201
        # a link from another site still opens the dashboard (a navigation), but cannot read the API
        nav = {"sec-fetch-site": "cross-site", "sec-fetch-mode": "navigate"}
        assert raw.get("/", headers=nav).status_code == 200
        assert (
            raw.get("/api/runs", headers={"sec-fetch-site": "cross-site", "sec-fetch-mode": "cors"}).status_code == 403
        )
        assert raw.get("/api/runs", headers={"origin": FOREIGN}).status_code == 403


def test_every_websocket_route_refuses_a_foreign_origin(
    server: ServerProcess, populated: httpx.Client, tmp_path: Path
) -> None:
    _, sockets = _routes(tmp_path)
    assert "/ws" in sockets and "/api/runs/r1/logs/stream" in sockets
    base = server.url.replace("http://", "ws://")
    for path in sockets:
        for origin in (FOREIGN, "null", f"http://localhost:{server.port + 1}"):
            with pytest.raises(InvalidStatus) as refused:
                connect(base + path, origin=Origin(origin), open_timeout=10).close()
            assert refused.value.response.status_code == 403, (path, origin)
            assert b"not this server" in refused.value.response.body
            assert refused.value.response.headers["X-Content-Type-Options"] == "nosniff"
        with connect(base + path, origin=Origin(server.url), open_timeout=10) as ws:
            ws.send('{"type": "ping"}')
        with connect(base + path, open_timeout=10) as ws:  # no Origin: not a browser
            ws.send('{"type": "ping"}')


def test_the_event_stream_refuses_a_foreign_origin(server: ServerProcess, populated: httpx.Client) -> None:
    url = f"{server.url}/api/runs/r1/logs/stream"
    for headers in ({"origin": FOREIGN}, {"sec-fetch-site": "cross-site", "sec-fetch-mode": "cors"}):
        with httpx.stream("GET", url, headers={"accept": "text/event-stream", **headers}, timeout=10) as resp:
            assert resp.status_code == 403


def test_nosniff_on_every_kind_of_response(server: ServerProcess, populated: httpx.Client) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as raw:
        responses = [
            raw.get("/health"),
            raw.get("/api/runs/r1/logs"),  # raw bytes
            raw.get("/api/runs/r1/logs/download", params={"format": "txt"}),
            raw.get("/api/runs/nope"),  # 404
            raw.get("/api/runs", params={"limit": "x"}),  # 422
            raw.post("/api/runs/r1/heartbeat"),  # 403 from the guard
            raw.get("/"),  # the UI
            raw.get("/openapi.json"),
            raw.get("/", headers={"host": "evil.example"}),  # the Host check's 400
        ]
        with raw.stream("GET", "/api/runs/r1/logs/stream") as stream:
            responses.append(stream)
    for resp in responses:
        assert resp.headers.get("x-content-type-options") == "nosniff", (resp.request.url, resp.status_code)
    assert {r.status_code for r in responses} >= {200, 400, 403, 404, 422}
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:  # refused before the body
        sock.sendall(
            b"POST /api/runs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: 99999999999\r\n\r\n{"
        )
        head = sock.recv(65536).split(b"\r\n\r\n")[0].lower()
    assert head.startswith(b"http/1.1 413") and b"x-content-type-options: nosniff" in head


def test_control_characters_in_ui_paths_are_not_found(server: ServerProcess) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as raw:
        for path in ("/%00", "/runs/%00x", "/assets/%0a", "/%7f", "/runs/a%00b/c"):
            resp = raw.get(path)
            assert resp.status_code == 404, (path, resp.status_code)
            assert resp.json()["detail"]
        assert raw.get("/" + "a" * 5000).status_code in (200, 404)  # a name too long to look up: not a 500
