"""Delivery guarantees of the SDK against real servers: the journal keeps up with training however
slow the server is (what a SIGKILL can lose is bounded), leftovers are uploaded by the next start and
by ``trainboard sync`` (which always ends, torn tail or not), and nothing is retried forever: a refused
or poison request becomes a dead letter that ``sync --retry-dead-letters`` sends again."""

from __future__ import annotations

import http.server
import json
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.support.servers import ServerProcess, free_port

from trainboard.sdk.pipeline import JOURNAL_LATENCY_S


def sdk(script: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, timeout=timeout)


def sync(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "trainboard.cli", "sync", *args], capture_output=True, text=True, timeout=timeout
    )


def metric(server: ServerProcess | str, run_id: str, key: str) -> list[int]:
    url = server if isinstance(server, str) else server.url
    data = httpx.get(f"{url}/api/runs/{run_id}/metrics", params={"keys": key}, timeout=30).json()
    series = data["metrics"].get(key)
    return [] if series is None else list(series["step"])


@pytest.fixture
def black_hole() -> Iterator[str]:
    """A server that accepts connections and never answers (requests hang until their timeout)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    sock.close()


KILLED = r"""
import sys, time
from trainboard import TrainingMonitor
mon = TrainingMonitor("killed", dashboard_url=sys.argv[1], data_dir=sys.argv[2], system_metrics=False)
print("RUN", mon.run_id, flush=True)
for step in range(50):
    mon.log_metrics({"loss": 1.0 / (step + 1)}, step=step)
    print(f"printed {step}", flush=True)
time.sleep(float(sys.argv[3]))
print("SAFE", flush=True)
time.sleep(60)
"""


def test_sigkill_loses_nothing_older_than_the_journal_bound(
    black_hole: str, server: ServerProcess, tmp_path: Path
) -> None:
    """The server hangs every request; after the documented bound (with margin) everything logged and
    printed is in the journal, so a SIGKILL loses none of it and ``sync`` uploads it."""
    client = tmp_path / "client"
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED, black_hole, str(client), str(3 * JOURNAL_LATENCY_S)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    assert proc.stdout is not None
    shown = b""
    while not shown.endswith(b"SAFE\n"):
        line = proc.stdout.readline()
        assert line, shown
        shown += line
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    proc.stdout.close()
    run_id = shown.split(b"RUN ", 1)[1].split(b"\n", 1)[0].decode()

    # the journal belongs to the server that hung: sent to this one only when asked (--to)
    synced = sync("--data", str(client), "--to", server.url)
    assert synced.returncode == 0, synced.stderr
    assert metric(server, run_id, "loss") == list(range(50))
    raw = httpx.get(f"{server.url}/api/runs/{run_id}/logs", timeout=30).content
    assert raw.startswith(shown[: shown.index(b"SAFE\n")])  # every printed byte before the bound


LEAVE = r"""
import sys
from trainboard import TrainingMonitor
mon = TrainingMonitor(sys.argv[3], dashboard_url=sys.argv[1], data_dir=sys.argv[2], system_metrics=False,
                      capture_output=False, flush_timeout=float(sys.argv[4]))
print(mon.run_id, flush=True)
for step in range(200):
    mon.log_metrics({"loss": 1.0 / (step + 1)}, step=step)
mon.finish()
"""


def test_the_next_sdk_start_uploads_what_an_earlier_run_left(
    make_server: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    server = make_server(start=False)
    client = str(tmp_path / "client")
    offline = sdk(LEAVE, server.url, client, "offline", "0.5")
    assert offline.returncode == 0 and "trainboard sync" in offline.stderr
    left_id = offline.stdout.strip()
    server.start()
    online = sdk(LEAVE, server.url, client, "online", "30")
    assert online.returncode == 0, online.stderr
    said = [line for line in online.stderr.splitlines() if "earlier runs left" in line]
    assert len(said) == 1 and client in said[0]  # one line on stderr saying so
    assert metric(server, left_id, "loss") == list(range(200))
    assert httpx.get(f"{server.url}/api/runs/{left_id}", timeout=30).json()["status"] == "completed"
    assert not list((tmp_path / "client" / "spool").glob("*/*.journal"))


def test_sync_drops_a_torn_tail_and_ends(make_server: Callable[..., ServerProcess], tmp_path: Path) -> None:
    server = make_server(start=False)
    client = tmp_path / "client"
    offline = sdk(LEAVE, server.url, str(client), "torn", "0.5")
    run_id = offline.stdout.strip()
    (journal,) = (client / "spool").glob("*/*.journal")
    with open(journal, "ab") as fh:  # what a SIGKILL in the middle of a write leaves
        fh.write(f'POST /api/runs/{run_id}/metrics\t{{"stream":"x","blocks":[{{"keys":["lo'.encode())
    server.start()
    synced = sync("--data", str(client), "--url", server.url, timeout=60)
    assert synced.returncode == 0, synced.stderr
    assert "torn last entry" in synced.stderr and str(journal) in synced.stderr.replace("\n", "")
    assert "synced 1 journal" in synced.stdout
    assert metric(server, run_id, "loss") == list(range(200))
    again = sync("--data", str(client), "--url", server.url)
    assert again.returncode == 0 and "nothing to sync" in again.stdout


REFUSED = r"""
import sys
from trainboard import TrainingMonitor
mon = TrainingMonitor("refused", dashboard_url=sys.argv[1], data_dir=sys.argv[2], system_metrics=False,
                      capture_output=False, flush_timeout=25)
print(mon.run_id, flush=True)
for step in range(10):
    mon.log_metrics({"loss": float(step)}, step=step)
mon.mark_best_checkpoint("0123456789abcdef")  # no such checkpoint: 404
mon.mark_best_checkpoint("0123456789abcdee")
mon.flush()
for step in range(10, 20):
    mon.log_metrics({"loss": float(step)}, step=step)
mon.finish()
"""


def test_a_refused_request_is_dropped_with_one_warning_and_kept_as_a_dead_letter(
    server: ServerProcess, tmp_path: Path
) -> None:
    client = tmp_path / "client"
    done = sdk(REFUSED, server.url, str(client))
    assert done.returncode == 0, done.stderr
    run_id = done.stdout.strip()
    warnings = [line for line in done.stderr.splitlines() if "did not take" in line]
    assert len(warnings) == 1 and "HTTP 404" in warnings[0], done.stderr
    assert metric(server, run_id, "loss") == list(range(20))  # the rest of the run uploaded
    assert httpx.get(f"{server.url}/api/runs/{run_id}", timeout=30).json()["status"] == "completed"
    (dead,) = (client / "spool").glob("*/*.dead.jsonl")
    letters = [json.loads(line) for line in dead.read_text().splitlines()]
    assert [x["path"].rsplit("/", 2)[-2] for x in letters] == ["0123456789abcdef", "0123456789abcdee"]
    assert all("HTTP 404" in x["reason"] for x in letters)


class _PoisonProxy(http.server.ThreadingHTTPServer):
    """Forwards to the real server, but answers 500 to any request whose body says ``poison``."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.poisoned = True
        self.refused = 0
        super().__init__(("127.0.0.1", free_port()), _ProxyHandler)


class _ProxyHandler(http.server.BaseHTTPRequestHandler):
    server: _PoisonProxy

    def _forward(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        if self.server.poisoned and b"poison" in body:
            self.server.refused += 1
            self._answer(500, b'{"detail":"internal error"}', "application/json")
            return
        headers = {k: v for k, v in self.headers.items() if k.lower() in ("content-type", "user-agent")}
        r = httpx.request(self.command, self.server.target + self.path, content=body, headers=headers, timeout=30)
        self._answer(r.status_code, r.content, r.headers.get("content-type", "application/json"))

    def _answer(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = _forward

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def poison_proxy(server: ServerProcess) -> Iterator[_PoisonProxy]:
    proxy = _PoisonProxy(server.url)
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    yield proxy
    proxy.shutdown()
    proxy.server_close()


POISON = r"""
import sys
from trainboard import TrainingMonitor
mon = TrainingMonitor("five-hundreds", dashboard_url=sys.argv[1], data_dir=sys.argv[2], system_metrics=False,
                      capture_output=False, flush_timeout=25)
print(mon.run_id, flush=True)
for step in range(10):
    mon.log_metrics({"loss": float(step)}, step=step)
mon.flush()
mon.log_metrics({"poison_pill": 1.0}, step=10)  # this batch makes the server fail every time
mon.flush()
for step in range(11, 20):
    mon.log_metrics({"loss": float(step)}, step=step)
mon.finish()
"""


def test_a_poison_batch_is_moved_aside_and_retried_by_sync(
    poison_proxy: _PoisonProxy, server: ServerProcess, tmp_path: Path
) -> None:
    proxy_url = f"http://127.0.0.1:{poison_proxy.server_address[1]}"
    client = tmp_path / "client"
    done = sdk(POISON, proxy_url, str(client))
    assert done.returncode == 0, done.stderr
    run_id = done.stdout.strip()
    assert poison_proxy.refused >= 2
    warnings = [line for line in done.stderr.splitlines() if "did not take" in line]
    assert len(warnings) == 1 and "HTTP 500" in warnings[0], done.stderr
    run = httpx.get(f"{server.url}/api/runs/{run_id}", timeout=30).json()
    assert run["status"] == "completed"  # the rest of the run went on
    assert metric(server, run_id, "loss") == [*range(10), *range(11, 20)]
    assert metric(server, run_id, "poison_pill") == []
    lines = httpx.get(f"{server.url}/api/runs/{run_id}/logs/lines", timeout=30).json()
    said = [line for line in lines["lines"] if "did not take" in str(line.get("message"))]
    assert len(said) == 1 and said[0]["level"] == "WARNING"  # the server knows too, as a line of the run

    plain = sync("--data", str(client), "--url", proxy_url)
    assert plain.returncode == 0 and "1 dead letter(s) kept" in plain.stderr  # kept, not retried by default
    poison_proxy.poisoned = False  # "the server was upgraded"
    retried = sync("--retry-dead-letters", "--data", str(client), "--url", proxy_url)
    assert retried.returncode == 0, retried.stderr
    assert "1 dead letter(s) sent again" in retried.stdout
    assert metric(server, run_id, "poison_pill") == [10]
    assert not list(client.glob("spool/*/*.dead.jsonl"))


SURROGATES = r"""
import sys
from trainboard import TrainingMonitor
name = "run-\udc80"  # what surrogateescape makes of a non-UTF-8 byte
mon = TrainingMonitor(name, config={"data": "/data/caf\udce9.csv", "k\udc81": 1}, dashboard_url=sys.argv[1],
                      data_dir=sys.argv[2], system_metrics=False, capture_output=False, flush_timeout=30)
print(mon.run_id, flush=True)
mon.log_metrics({"acc\udc82": 0.5, "loss": 1.0}, step=0)
mon.finish()
"""


def test_text_utf8_cannot_encode_is_sent_with_replacement_characters(server: ServerProcess, tmp_path: Path) -> None:
    done = sdk(SURROGATES, server.url, str(tmp_path / "client"))
    assert done.returncode == 0 and "did not take" not in done.stderr, done.stderr
    run_id = done.stdout.strip()
    run = httpx.get(f"{server.url}/api/runs/{run_id}", timeout=30).json()
    assert run["name"] == "run-\ufffd" and run["status"] == "completed"
    assert run["config"] == {"data": "/data/caf\ufffd.csv", "k\ufffd": 1}
    assert metric(server, run_id, "acc\ufffd") == [0] and metric(server, run_id, "loss") == [0]
