"""Journals only to their own server, and live data before leftovers (issue 22, item 3).

Real ``trainboard serve`` processes on SQLite (two servers must not share a database) and SDK scripts in
their own processes sharing one client data directory, as programs run one after another on a machine."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.support.servers import ServerProcess

LEAVE = r"""
import sys
from trainboard import TrainingMonitor
mon = TrainingMonitor(sys.argv[3], dashboard_url=sys.argv[1], data_dir=sys.argv[2], system_metrics=False,
                      capture_output=False, flush_timeout=float(sys.argv[4]))
print(mon.run_id, flush=True)
for step in range(100):
    mon.log_metrics({"loss": 1.0 / (step + 1)}, step=step)
mon.finish()
"""

BIG = r"""
import sys
from trainboard import TrainingMonitor
mon = TrainingMonitor("big", dashboard_url=sys.argv[1], data_dir=sys.argv[2], system_metrics=False,
                      capture_output=False, flush_timeout=0.2)
print(mon.run_id, flush=True)
line = (b"x" * 1023 + b"\n") * 64  # 64 KiB
for _ in range(int(sys.argv[3]) * 16):
    mon.log_output(line)
mon.finish()
"""

LIVE = r"""
import json, sys, time
from pathlib import Path
from trainboard import TrainingMonitor
url, data, leftover = sys.argv[1], sys.argv[2], Path(sys.argv[3])

def pending() -> int:
    try:
        ack = leftover.with_suffix(".ack")
        return leftover.stat().st_size - (int(ack.read_text() or 0) if ack.exists() else 0)
    except OSError:
        return 0

mon = TrainingMonitor("live", dashboard_url=url, data_dir=data, system_metrics=False, capture_output=False,
                      flush_timeout=2.0)
mon.log_metrics({"loss": 1.0}, step=0)
assert mon.flush(60)
time.sleep(1.0)  # the leftover's upload is under way now
delays, during = [], []
for step in range(1, 6):
    during.append(pending())
    t0 = time.monotonic()
    mon.log_metrics({"loss": 1.0 / (step + 1)}, step=step)
    assert mon.flush(60)
    delays.append(time.monotonic() - t0)
    time.sleep(0.2)
print(json.dumps({"run": mon.run_id, "delays": delays, "pending": during}), flush=True)
mon.finish()
"""


def sdk(script: str, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, timeout=timeout)


def cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "trainboard.cli", *args], capture_output=True, text=True, timeout=timeout
    )


def steps(url: str, run_id: str) -> list[int]:
    series = httpx.get(f"{url}/api/runs/{run_id}/metrics", params={"keys": "loss"}, timeout=30).json()["metrics"]
    return list(series["loss"]["step"]) if "loss" in series else []


@pytest.fixture
def sqlite_servers(tmp_path: Path) -> Iterator[list[ServerProcess]]:
    servers = [ServerProcess(data_dir=tmp_path / f"server-{name}", db_url=None) for name in "ab"]
    yield servers
    for server in servers:
        server.stop()


def test_a_journal_left_for_one_server_goes_only_there_unless_sent_with_to(
    sqlite_servers: list[ServerProcess], tmp_path: Path
) -> None:
    a, b = sqlite_servers
    client = str(tmp_path / "client")
    offline = sdk(LEAVE, a.url, client, "for-a", "0.5")  # A is down: the run stays in the journal
    assert offline.returncode == 0 and "trainboard sync" in offline.stderr, offline.stderr
    left_id = offline.stdout.strip()
    b.start()

    live = sdk(LEAVE, b.url, client, "on-b", "30")  # a later program on the same machine, talking to B
    assert live.returncode == 0, live.stderr
    assert "earlier runs left" not in live.stderr and "did not take" not in live.stderr
    assert steps(b.url, live.stdout.strip()) == list(range(100))
    assert httpx.get(f"{b.url}/api/runs/{left_id}", timeout=30).status_code == 404
    assert not list((tmp_path / "client").rglob("*.dead.jsonl"))  # nothing refused: nothing was sent

    plain = cli("sync", "--data", client, "--url", b.url)
    assert plain.returncode == 0, plain.stderr
    assert "belong to another server" in plain.stderr and a.url in plain.stderr
    assert httpx.get(f"{b.url}/api/runs/{left_id}", timeout=30).status_code == 404

    listed = cli("sync", "--list", "--data", client)
    assert listed.returncode == 0, listed.stderr
    (line,) = [row for row in listed.stdout.splitlines() if left_id in row]
    assert a.url in line

    sent = cli("sync", "--data", client, "--to", b.url)
    assert sent.returncode == 0, sent.stderr
    assert steps(b.url, left_id) == list(range(100))
    assert not list((tmp_path / "client" / "spool").glob("*/*.journal"))


def test_a_large_leftover_does_not_hold_up_a_live_run(sqlite_servers: list[ServerProcess], tmp_path: Path) -> None:
    """50 MB left for this server: the next run's metrics are stored within a second of being logged while
    the leftover uploads (the replay yields to the live journal between requests)."""
    server = sqlite_servers[0]
    client = str(tmp_path / "client")
    big = sdk(BIG, server.url, client, "50")
    assert big.returncode == 0, big.stderr
    (journal,) = (tmp_path / "client" / "spool").glob("*/*.journal")
    assert journal.stat().st_size > 50 << 20
    server.start()

    live = sdk(LIVE, server.url, client, str(journal))
    assert live.returncode == 0, live.stderr
    result = json.loads(live.stdout)
    assert "earlier runs left" in live.stderr  # it did upload the leftover meanwhile
    assert result["pending"][0] > 0, "the leftover was uploaded before the live run measured: nothing shown"
    assert max(result["delays"]) < 1.0, result
    assert steps(server.url, result["run"]) == list(range(6))
