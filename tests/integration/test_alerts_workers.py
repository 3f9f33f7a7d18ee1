"""Alerts with ``serve --workers 2`` (PostgreSQL + Redis): every process evaluates what it committed, only the
leader delivers, so each notification is sent once."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.support.alert_receivers import http_receiver
from tests.support.scale import PrivateRedis
from tests.support.servers import ServerProcess, postgres_database

pytestmark = pytest.mark.postgres


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[ServerProcess]:
    redis = PrivateRedis(tmp_path / "redis").start()
    try:
        with postgres_database() as db:
            server = ServerProcess(tmp_path / "data", db, extra_args=["--workers", "2", "--redis", redis.url])
            server.start(timeout=120)
            try:
                yield server
            finally:
                server.stop()
    finally:
        redis.stop()


def test_two_workers_deliver_each_notification_once(cluster: ServerProcess) -> None:
    with http_receiver() as hook, cluster.client() as http:
        rule = {"name": "nan", "project": "w", "condition": {"kind": "nan"}, "channels": [f"json://{hook.url}/w"]}
        assert http.post("/api/alert-rules", json=rule).status_code == 201
        time.sleep(3)  # the other worker reloads its rules (RULES_TTL)
        run_ids = [http.post("/api/runs", json={"name": f"r{i}", "project": "w"}).json()["id"] for i in range(6)]
        for run_id in run_ids:  # new connections: the kernel spreads them over both workers
            with httpx.Client(base_url=cluster.url, headers={"X-Trainboard": "1"}, timeout=30) as one:
                points = [{"step": 1, "metrics": {"loss": 1.0}}, {"step": 2, "metrics": {"loss": "NaN"}}]
                assert one.post(f"/api/runs/{run_id}/metrics", json={"points": points}).status_code < 300
        deadline = time.monotonic() + 30
        while len(hook.requests) < len(run_ids) and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(3)  # a duplicate would arrive by now
        titles = [r.json()["title"] for r in hook.requests]
        assert len(titles) == len(run_ids), titles
        assert sorted(r.json()["message"].split("run ")[-1].split()[0] for r in hook.requests) == sorted(run_ids)
