"""Helpers for the scale-out tests: a private Redis server the test may stop and restart, a following SSE
reader that reconnects the way a browser does, and a reader of a server's Prometheus figures."""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.support.servers import IN_CI, free_port
from tests.support.sse import events


@dataclass
class PrivateRedis:
    """A ``redis-server`` of the test's own on a free port (never the shared one): stop and start it freely."""

    workdir: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> PrivateRedis:
        exe = shutil.which("redis-server")
        if exe is None:
            pytest.skip("redis-server is not installed")
        self.workdir.mkdir(parents=True, exist_ok=True)
        args = [exe, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        log = open(self.workdir / "redis.log", "ab")  # noqa: SIM115 - owned by the child
        self.proc = subprocess.Popen(args, cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        import redis

        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis(port=self.port, socket_connect_timeout=0.5).ping()
                return self
            except redis.RedisError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None


class Follower:
    """Follows a run's raw log over SSE in a thread, reconnecting from the last byte it has (``?offset=``)
    after any end or error but ``done``, like the web UI. ``data`` is every byte received, in order."""

    def __init__(self, url: str, run_id: str) -> None:
        self.url = url
        self.run_id = run_id
        self.data = bytearray()
        self.connections = 0
        #: What broke the stream's contract (a gap or an overlap); the follower stops at the first one.
        self.errors: list[str] = []
        self.done = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set() and not self.done.is_set():
            try:
                with httpx.stream(
                    "GET",
                    f"{self.url}/api/runs/{self.run_id}/logs/stream",
                    params={"offset": len(self.data)},
                    timeout=httpx.Timeout(5.0, read=30.0),
                ) as resp:
                    if resp.status_code != 200:
                        raise httpx.HTTPError(f"HTTP {resp.status_code}")
                    self.connections += 1
                    for ev in events(resp):
                        if ev.event == "log":
                            end = int(ev.id or -1)
                            payload = ev.payload
                            if end - len(payload) != len(self.data):
                                self.errors.append(f"bytes {end - len(payload)}..{end} after {len(self.data)}")
                                return
                            self.data += payload
                        elif ev.event == "done":
                            self.done.set()
                            return
                        if self._stop.is_set():
                            return
            except (httpx.HTTPError, OSError):
                pass
            time.sleep(0.3)

    def wait_for(self, expected: bytes, timeout: float = 15.0) -> bytes:
        deadline = time.monotonic() + timeout
        while bytes(self.data) != expected and time.monotonic() < deadline:
            if len(self.data) > len(expected) or self.errors:
                break
            time.sleep(0.05)
        assert not self.errors, self.errors
        return bytes(self.data)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(35)


def prometheus(url: str, name: str, labels: str = "") -> float | None:
    """The value of one sample of ``url``'s ``/metrics`` (``labels``: its ``{...}`` text), or None."""
    text = httpx.get(url + "/metrics", timeout=10).text
    wanted = name + labels
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        key, _, value = line.rpartition(" ")
        if key == wanted:
            return float(value)
    return None


def wait_metric(url: str, name: str, expected: float, labels: str = "", timeout: float = 20.0) -> float | None:
    """Poll ``/metrics`` until the sample equals ``expected``; returns the last value seen."""
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        value = prometheus(url, name, labels)
        if value == expected:
            return value
        time.sleep(0.25)
    return value


DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def tool(name: str) -> str:
    path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin:/sbin")
    if path is None:
        if IN_CI:
            pytest.fail(f"{name} is not installed (scripts/test installs it)")
        pytest.skip(f"{name} is not installed")
    return path


def nginx_prefix(root: Path, http_body: str) -> Path:
    """An nginx prefix in ``root``: the shipped snippets in ``snippets/``, a main ``nginx.conf`` whose
    ``http {}`` holds ``http_body``; temp paths, pid and logs inside ``root``. Returns the main file."""
    (root / "snippets").mkdir(parents=True, exist_ok=True)
    (root / "logs").mkdir(exist_ok=True)
    for snippet in ("trainboard-http.conf", "trainboard-proxy.conf"):
        shutil.copy(DEPLOY / "nginx" / snippet, root / "snippets" / snippet)
    temp = "\n".join(
        f"    {kind}_temp_path {root / 'tmp' / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    conf = root / "nginx.conf"
    conf.write_text(
        f"worker_processes 1;\npid {root / 'nginx.pid'};\nerror_log {root / 'logs' / 'error.log'} warn;\n"
        f"events {{ worker_connections 4096; }}\nhttp {{\n    access_log off;\n{temp}\n{http_body}\n}}\n"
    )
    (root / "tmp").mkdir(exist_ok=True)
    return conf
