"""Two server processes on one PostgreSQL database share live events through Redis."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable

import httpx
import pytest
from tests.support.servers import REDIS_URL, ServerProcess, service_missing
from tests.support.sse import Event, collect
from websockets.sync.client import connect

pytestmark = pytest.mark.redis


@pytest.fixture
def redis_url() -> str:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        service_missing("Redis at " + REDIS_URL, exc)
    return REDIS_URL


@pytest.mark.parametrize("db_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True)
def test_events_written_on_one_process_reach_streams_on_another(
    make_server: Callable[..., ServerProcess], redis_url: str
) -> None:
    a = make_server("--redis", redis_url)
    b = make_server("--redis", redis_url)
    with httpx.Client(base_url=a.url, timeout=30) as ca:
        ca.post("/api/runs", json={"id": "shared"})
        result: dict[str, tuple[bytes, list[Event]]] = {}
        started = threading.Event()

        def follow() -> None:
            started.set()
            result["sse"] = collect(b.url, "shared", timeout=30)

        with connect(b.url.replace("http", "ws") + "/ws") as ws:
            ws.send(json.dumps({"type": "subscribe", "run_id": "shared"}))
            while json.loads(ws.recv(timeout=10))["type"] != "subscribed":
                pass  # run_created for "shared" may come first, relayed through Redis
            reader = threading.Thread(target=follow)
            reader.start()
            started.wait()
            time.sleep(0.5)
            ca.post("/api/runs/shared/metrics", json={"step": 3, "metrics": {"loss": 0.25}})
            update = json.loads(ws.recv(timeout=10))
            while update["type"] != "metric_update":
                update = json.loads(ws.recv(timeout=10))
            assert update["run_id"] == "shared" and update["metrics"] == {"loss": 0.25}
            payload = b"\x1b[32mhello from process A\x1b[0m\r\n"
            for _ in range(3):
                ca.post(
                    "/api/runs/shared/logs/raw",
                    json={"chunks": [{"source": "stdout", "data": base64.b64encode(payload).decode()}]},
                )
            ca.put("/api/runs/shared", json={"status": "completed", "exit_code": 0})
            reader.join(30)
    data, events = result["sse"]
    assert data == payload * 3
    assert events[-1].event == "done" and events[-1].json() == {"exit_code": 0}
