"""``GET /metrics``: Prometheus figures an operator watches, from a real server with authentication on
(reading them needs ``read``). Ingest rate and lag, open streams, dropped slow clients, database health."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator

import httpx
import pytest
from tests.support.auth import Seeded, seed
from tests.support.servers import ServerProcess


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, Seeded]]:
    data = tmp_path_factory.mktemp("prometheus")
    seeded = seed(data)  # users exist: authentication is on
    server = ServerProcess(data, None).start()
    try:
        yield server, seeded
    finally:
        server.stop()


def sample(text: str, name: str) -> float | None:
    for line in text.splitlines():
        if not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            if key == name:
                return float(value)
    return None


def scrape(server: ServerProcess, seeded: Seeded) -> str:
    resp = httpx.get(server.url + "/metrics", headers=seeded.headers("vic"), timeout=10)
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/plain")
    return resp.text


def test_metrics_need_read_access_when_authentication_is_on(served: tuple[ServerProcess, Seeded]) -> None:
    server, seeded = served
    anonymous = httpx.get(server.url + "/metrics", timeout=10)
    assert anonymous.status_code == 401
    assert "detail" in anonymous.json()
    text = scrape(server, seeded)  # a viewer's read token is enough
    assert "# TYPE trainboard_ingested_points_total counter" in text
    assert sample(text, "trainboard_database_up") == 1.0
    assert sample(text, "trainboard_background_leader") == 1.0
    assert sample(text, "trainboard_redis_up") is None  # no Redis configured: no such figure


def test_ingest_rate_and_lag_are_counted(served: tuple[ServerProcess, Seeded]) -> None:
    server, seeded = served
    before = scrape(server, seeded)
    points0 = sample(before, "trainboard_ingested_points_total") or 0.0
    lag0 = sample(before, "trainboard_ingest_lag_seconds_count") or 0.0
    bytes0 = sample(before, "trainboard_ingested_log_bytes_total") or 0.0
    with httpx.Client(base_url=server.url, headers=seeded.headers("ed"), timeout=30) as c:
        assert c.post("/api/runs", json={"id": "counted"}).status_code in (200, 201)
        late = time.time() - 3.0  # points logged 3 s before they are sent (a client that was offline)
        points = [{"step": s, "timestamp": late, "metrics": {"loss": 1.0 / (s + 1), "lr": 0.1}} for s in range(50)]
        resp = c.post("/api/runs/counted/metrics", json={"points": points})
        assert resp.status_code == 200, resp.text
        raw = base64.b64encode(b"x" * 1000).decode()
        chunks = [{"seq": 0, "source": "stdout", "data": raw}]
        assert c.post("/api/runs/counted/logs/raw", json={"chunks": chunks}).status_code == 200
    after = scrape(server, seeded)
    assert sample(after, "trainboard_ingested_points_total") == points0 + 100
    assert sample(after, "trainboard_ingested_log_bytes_total") == bytes0 + 1000
    assert sample(after, "trainboard_ingest_lag_seconds_count") == lag0 + 1
    # the batch's lag (>= 3 s) falls above the 2.5 s bucket
    assert (sample(after, 'trainboard_ingest_lag_seconds_bucket{le="2.5"}') or 0.0) == (
        sample(before, 'trainboard_ingest_lag_seconds_bucket{le="2.5"}') or 0.0
    )
    route = 'trainboard_http_requests_total{method="POST",route="/api/runs/{run_id}/metrics",status="200"}'
    assert (sample(after, route) or 0) >= 1


def test_open_streams_and_dropped_slow_clients(served: tuple[ServerProcess, Seeded]) -> None:
    server, seeded = served
    with httpx.Client(base_url=server.url, headers=seeded.headers("ed"), timeout=30) as c:
        assert c.post("/api/runs", json={"id": "slow"}).status_code in (200, 201)
    dropped0 = sample(scrape(server, seeded), "trainboard_slow_clients_dropped_total") or 0.0
    with httpx.Client(timeout=httpx.Timeout(30.0)) as viewer:
        req = viewer.build_request("GET", server.url + "/api/runs/slow/logs/stream", headers=seeded.headers("vic"))
        stream = viewer.send(req, stream=True)
        try:
            assert stream.status_code == 200
            assert sample(scrape(server, seeded), 'trainboard_open_streams{kind="sse"}') == 1.0
            # the viewer reads nothing while 24 MiB are written: its socket fills, then its 1 MiB queue
            chunk = base64.b64encode(b"y" * (1024 * 1024)).decode()
            with httpx.Client(base_url=server.url, headers=seeded.headers("ed"), timeout=60) as writer:
                for seq in range(24):
                    body = {"chunks": [{"seq": seq, "source": "stdout", "data": chunk}]}
                    assert writer.post("/api/runs/slow/logs/raw", json=body).status_code == 200
            deadline = time.monotonic() + 20
            dropped = dropped0
            while dropped == dropped0 and time.monotonic() < deadline:
                dropped = sample(scrape(server, seeded), "trainboard_slow_clients_dropped_total") or 0.0
                time.sleep(0.2)
            assert dropped == dropped0 + 1
            tail = b""
            for part in stream.iter_bytes():  # it is told why and where to resume
                tail = (tail + part)[-4096:]
            assert b"event: lagged" in tail and b"resume_from" in tail
        finally:
            stream.close()
    deadline = time.monotonic() + 10
    while sample(scrape(server, seeded), 'trainboard_open_streams{kind="sse"}') != 0.0:
        assert time.monotonic() < deadline, "the stream was not counted closed"
        time.sleep(0.1)
