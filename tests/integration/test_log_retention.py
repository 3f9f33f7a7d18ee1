"""Log retention: per-run and total limits trim the oldest bytes and say so in the run's events."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable

import httpx
from tests.support.servers import ServerProcess
from tests.support.sse import collect


def write(c: httpx.Client, run_id: str, n: int, size: int = 10_000) -> bytes:
    sent = b""
    for i in range(n):
        chunk = (f"chunk {i:04d} ".encode() * size)[: size - 1] + b"\n"
        sent += chunk
        c.post(
            f"/api/runs/{run_id}/logs/raw",
            json={"chunks": [{"source": "stdout", "data": base64.b64encode(chunk).decode()}]},
        )
    return sent


def test_per_run_limit_trims_oldest_and_records_it(make_server: Callable[..., ServerProcess]) -> None:
    server = make_server("--log-limit-per-run", "100000")
    with server.client() as c:
        c.post("/api/runs", json={"id": "big"})
        sent = write(c, "big", 30)
        resp = c.get("/api/runs/big/logs")
        start, size = int(resp.headers["X-Log-Start"]), int(resp.headers["X-Log-Size"])
        assert size == len(sent) and start > 0 and size - start <= 100_000
        assert resp.content == sent[start:]  # what is kept is exact
        events = [e for e in c.get("/api/runs/big/events").json()["events"] if e["kind"] == "log_trimmed"]
        assert events and "per-run limit" in events[0]["message"]
        lines = c.get("/api/runs/big/logs/lines", params={"limit": 1000}).json()["lines"]
        assert lines and not lines[0]["message"].startswith("chunk 0000")  # old lines went with their bytes
        c.put("/api/runs/big", json={"status": "completed"})
        data, _ = collect(server.url, "big", offset=0)
        assert data == sent[start:]  # a stream from 0 starts where the log now starts


def test_total_limit_trims_across_runs(make_server: Callable[..., ServerProcess]) -> None:
    server = make_server("--log-limit-total", "150000", "--heartbeat-timeout", "1")
    with server.client() as c:
        for run_id in ("old", "new"):
            c.post("/api/runs", json={"id": run_id})
            write(c, run_id, 12)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            kept = sum(
                int(c.get(f"/api/runs/{r}/logs", params={"limit": 0}).headers["X-Log-Size"])
                - int(c.get(f"/api/runs/{r}/logs", params={"limit": 0}).headers["X-Log-Start"])
                for r in ("old", "new")
            )
            if kept <= 150_000:
                break
            time.sleep(0.3)
        assert kept <= 150_000
        old = [e for e in c.get("/api/runs/old/events").json()["events"] if e["kind"] == "log_trimmed"]
        assert old and "total limit" in old[0]["message"]
