"""What authentication costs: added latency per request of the token and session checks (ratio vs auth off,
measured in one run against two servers, interleaved), and SDK ingest points/s with auth on vs off.

Two real ``trainboard serve`` processes on fresh SQLite data: one open (loopback, no users), one with a user, a
write token and a logged-in session. Each request is ``GET /api/runs/{id}`` (a small indexed read).
Prints figures only; no assertions.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from _server import CLI, serve_process
from trainboard import TrainingMonitor
from trainboard.server.auth import manage
from trainboard.server.settings import Settings

ROUNDS = 20
PER_ROUND = 100
INGEST_STEPS = 20_000
KEYS = [f"k{i}" for i in range(10)]


@contextmanager
def server(auth: bool) -> Iterator[tuple[str, Path, str | None]]:
    """(url, data dir, token) of a fresh server; with ``auth`` a user ``bench`` (admin) and a write token."""
    with tempfile.TemporaryDirectory(prefix="tb-bench-auth-") as tmp:
        data = Path(tmp)
        token = None
        if auth:
            engine = manage.open_engine(Settings(data_dir=data))
            manage.create_user(engine, "bench", "admin", "bench-password")
            token = manage.create_token(engine, name="bench", scope="write", user="bench")[1]
            engine.dispose()
        with serve_process(CLI, data) as url:
            yield url, data, token


def timed(client: httpx.Client, path: str, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        r = client.get(path)
        out.append(time.perf_counter() - t0)
        assert r.status_code == 200, r.text
    return out


def ingest(url: str, data: Path, token: str | None, name: str) -> float:
    mon = TrainingMonitor(
        name,
        dashboard_url=url,
        data_dir=data / "client",
        system_metrics=False,
        capture_output=False,
        flush_timeout=600,
        token=token,
    )
    t0 = time.perf_counter()
    for step in range(INGEST_STEPS):
        mon.log_metrics({k: step + j * 0.5 for j, k in enumerate(KEYS)}, step=step)
    assert mon.finish()
    return INGEST_STEPS * len(KEYS) / (time.perf_counter() - t0)


def main() -> None:
    with server(auth=False) as (off_url, off_data, _), server(auth=True) as (on_url, on_data, token):
        assert token is not None
        headers = {"X-Trainboard": "1"}
        off = httpx.Client(base_url=off_url, headers=headers)
        by_token = httpx.Client(base_url=on_url, headers={**headers, "Authorization": f"Bearer {token}"})
        by_session = httpx.Client(base_url=on_url, headers=headers)
        r = by_session.post("/api/auth/login", json={"username": "bench", "password": "bench-password"})
        assert r.status_code == 200, r.text
        run_off = off.post("/api/runs", json={"id": "bench"}).json()["id"]
        run_on = by_token.post("/api/runs", json={"id": "bench"}).json()["id"]
        samples: dict[str, list[float]] = {"off": [], "token": [], "session": []}
        for client, path in ((off, run_off), (by_token, run_on), (by_session, run_on)):  # warm up
            timed(client, f"/api/runs/{path}", 50)
        for _ in range(ROUNDS):  # interleaved, so drift on a busy machine hits all three alike
            samples["off"] += timed(off, f"/api/runs/{run_off}", PER_ROUND)
            samples["token"] += timed(by_token, f"/api/runs/{run_on}", PER_ROUND)
            samples["session"] += timed(by_session, f"/api/runs/{run_on}", PER_ROUND)
        base = statistics.median(samples["off"])
        print(f"GET /api/runs/ID, {ROUNDS * PER_ROUND} requests each, sequential, one connection:")
        for kind, values in samples.items():
            values.sort()
            med, p99 = statistics.median(values), values[int(len(values) * 0.99)]
            extra = (med - base) * 1e3
            print(
                f"  {kind:8s} median {med * 1e3:6.2f} ms  p99 {p99 * 1e3:6.2f} ms  "
                f"added {extra:+.2f} ms/request  ratio vs off {med / base:.2f}x"
            )
        for c in (off, by_token, by_session):
            c.close()
        rate_off = statistics.median(ingest(off_url, off_data, None, f"ingest-off-{i}") for i in range(3))
        rate_on = statistics.median(ingest(on_url, on_data, token, f"ingest-on-{i}") for i in range(3))
        print(
            f"SDK ingest ({INGEST_STEPS * len(KEYS):,} points, median of 3): auth off {rate_off:,.0f} points/s, "
            f"auth on (token) {rate_on:,.0f} points/s, ratio {rate_on / rate_off:.2f}"
        )


if __name__ == "__main__":
    main()
