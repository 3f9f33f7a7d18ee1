"""The dashboard WebSocket /ws and the system endpoints against a real server."""

from __future__ import annotations

import json
from typing import Any

import httpx
from tests.support.servers import ServerProcess
from websockets.sync.client import ClientConnection, connect


def recv(ws: ClientConnection, kind: str, timeout: float = 10.0) -> dict[str, Any]:
    while True:
        msg: dict[str, Any] = json.loads(ws.recv(timeout=timeout))
        if msg["type"] == kind:
            return msg
        if msg["type"] not in ("run_created", "status_change", "heartbeat", "metric_update"):
            raise AssertionError(f"expected {kind}, got {msg}")


def test_subscribers_get_only_their_runs_updates(server: ServerProcess, http: httpx.Client) -> None:
    ws_url = server.url.replace("http", "ws") + "/ws"
    http.post("/api/runs", json={"id": "a"})
    http.post("/api/runs", json={"id": "b"})
    with connect(ws_url) as wa, connect(ws_url) as wb:
        wa.send(json.dumps({"type": "subscribe", "run_id": "a"}))
        wb.send(json.dumps({"type": "subscribe", "run_id": "b"}))
        assert recv(wa, "subscribed")["run_id"] == "a"
        assert recv(wb, "subscribed")["run_id"] == "b"
        http.post("/api/runs/a/metrics", json={"step": 1, "metrics": {"loss": 0.5}})
        http.post("/api/runs/b/metrics", json={"step": 2, "metrics": {"loss": "NaN"}})
        got_a = json.loads(wa.recv(timeout=10))
        got_b = json.loads(wb.recv(timeout=10))
        assert got_a.pop("timestamp") > 0 and got_b.pop("timestamp") > 0
        assert got_a == {"type": "metric_update", "run_id": "a", "step": 1, "metrics": {"loss": 0.5}}
        assert got_b == {"type": "metric_update", "run_id": "b", "step": 2, "metrics": {"loss": "NaN"}}
        http.post("/api/runs/a/checkpoints", json={"id": "ck1", "path": "/x.pt", "metrics": {"loss": 0.5}})
        saved = recv(wa, "checkpoint_saved")
        assert saved["checkpoint_id"] == "ck1" and saved["metrics"] == {"loss": 0.5}
        http.put("/api/runs/a", json={"status": "completed", "exit_code": 0})
        change = recv(wa, "status_change")
        assert (change["run_id"], change["old_status"], change["new_status"]) == ("a", "running", "completed")
        wa.send(json.dumps({"type": "unsubscribe", "run_id": "a"}))
        assert recv(wa, "unsubscribed")["run_id"] == "a"


def test_malformed_messages_get_errors_and_the_socket_survives(server: ServerProcess) -> None:
    with connect(server.url.replace("http", "ws") + "/ws") as ws:
        for raw in ("{not json", "[1, 2]", json.dumps({"type": "dance"}), json.dumps({"type": "subscribe"})):
            ws.send(raw)
            assert recv(ws, "error")["message"]
        ws.send(json.dumps({"type": "subscribe", "run_id": "no-such-run"}))
        assert "unknown run" in recv(ws, "error")["message"]
        ws.send(json.dumps({"type": "ping"}))
        assert recv(ws, "pong") == {"type": "pong"}


def test_new_runs_are_announced(server: ServerProcess, http: httpx.Client) -> None:
    with connect(server.url.replace("http", "ws") + "/ws") as ws:
        ws.send(json.dumps({"type": "ping"}))
        recv(ws, "pong")
        http.post("/api/runs", json={"id": "fresh", "name": "fresh run"})
        created = json.loads(ws.recv(timeout=10))
        assert created["type"] == "run_created" and created["run"]["name"] == "fresh run"


def test_a_queued_run_taken_over_by_trainboard_run_is_announced_running(
    server: ServerProcess, http: httpx.Client
) -> None:
    """A launched run waits ``queued`` until ``trainboard run`` creates it again as running on the execution side:
    open dashboards see that status change live (not only on their next reload)."""
    http.post("/api/runs", json={"id": "launched-1", "status": "queued"})
    with connect(server.url.replace("http", "ws") + "/ws") as ws:
        ws.send(json.dumps({"type": "ping"}))
        recv(ws, "pong")
        assert http.post("/api/runs", json={"id": "launched-1", "status": "running"}).status_code == 200
        change = recv(ws, "status_change")
        assert (change["run_id"], change["old_status"], change["new_status"]) == ("launched-1", "queued", "running")
        assert change["run"]["status"] == "running" and isinstance(change["id"], int)


def test_system_status_and_history(make_server: Any) -> None:
    server = make_server()
    status = httpx.get(f"{server.url}/api/system/status").json()
    assert 0 <= status["cpu_percent"] <= 100 * 64 if status["cpu_percent"] is not None else True
    assert status["ram_used"] > 0 and status["ram_total"] >= status["ram_used"]
    assert isinstance(status["gpus"], list)
    assert httpx.get(f"{server.url}/api/system/history").json()["samples"] is not None
