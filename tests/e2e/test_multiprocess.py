"""Two server processes on PostgreSQL + Redis behind Debian's nginx, with the shipped proxy settings
(``deploy/nginx``): a training script's SDK logs through nginx to process A, a browser watches the run on
process B. Mid-run Redis is stopped and restarted, then A is killed with SIGKILL: the SDK carries on
through nginx to B, the page stays live, and every step and every line is stored exactly once."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.support import ensure_bundle, shot, terminal_lines
from tests.support.scale import PrivateRedis, nginx_prefix, tool
from tests.support.servers import ServerProcess, free_port, postgres_database

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.redis]

SCRIPT = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from trainboard import TrainingMonitor

    stop = Path(sys.argv[2])
    with TrainingMonitor(run_name="behind-nginx", dashboard_url=sys.argv[1], system_metrics=False) as monitor:
        step = 0
        while not stop.exists():
            monitor.log_metrics({"loss": 1.0 / (step + 1)}, step=step)
            print(f"training line {step}", flush=True)
            step += 1
            time.sleep(0.1)
    """
)


@dataclass
class Cluster:
    a: ServerProcess
    b: ServerProcess
    redis: PrivateRedis
    proxy_url: str


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    nginx = tool("nginx")
    ensure_bundle()
    redis = PrivateRedis(tmp_path / "redis").start()
    nginx_proc: subprocess.Popen[bytes] | None = None
    try:
        with postgres_database() as db:
            args = ["--redis", redis.url, "--heartbeat-timeout", "10"]
            a = ServerProcess(tmp_path / "a", db, extra_args=args).start(timeout=60)
            b = ServerProcess(tmp_path / "b", db, extra_args=args).start(timeout=60)
            port = free_port()
            # the shipped proxy settings; the upstream sends to A while it is up (B is its backup), so that
            # the SDK's requests go through one process and the page can watch on the other
            conf = nginx_prefix(
                tmp_path / "nginx",
                f"""
    include snippets/trainboard-http.conf;
    upstream trainboard {{
        server 127.0.0.1:{a.port} max_fails=1 fail_timeout=30s;
        server 127.0.0.1:{b.port} backup;
        keepalive 8;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            include snippets/trainboard-proxy.conf;
        }}
    }}""",
            )
            nginx_proc = subprocess.Popen(
                [nginx, "-p", str(conf.parent), "-c", str(conf), "-g", "daemon off;"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.STDOUT,
            )
            proxy = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 20
            while True:
                try:
                    if httpx.get(proxy + "/health", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, "nginx did not start"
                time.sleep(0.1)
            try:
                yield Cluster(a, b, redis, proxy)
            finally:
                a.stop()
                b.stop()
    finally:
        if nginx_proc is not None:
            nginx_proc.terminate()
            nginx_proc.wait(10)
        redis.stop()


def _wait(what: str, pred: Any, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def _steps_on_page(page: Any) -> int:
    return int(page.locator('[data-metric-key="loss"]').get_attribute("data-points") or 0)


def _last_line_shown(page: Any) -> int:
    numbers = [int(m.group(1)) for ln in terminal_lines(page) if (m := re.match(r"training line (\d+)$", ln))]
    return max(numbers, default=-1)


def test_sdk_through_nginx_page_on_the_other_process_survives_redis_outage_and_kill(
    cluster: Cluster, page: Any, tmp_path: Path
) -> None:
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    stop = tmp_path / "stop"
    env = {**cluster.a.env(), "TRAINBOARD_DATA": str(tmp_path / "sdk"), "PYTHONUNBUFFERED": "1"}
    log = open(tmp_path / "train.log", "wb")  # noqa: SIM115 - owned by the child
    training = subprocess.Popen(
        [sys.executable, str(script), cluster.proxy_url, str(stop)], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    log.close()
    try:
        with httpx.Client(base_url=cluster.b.url, timeout=10) as b:
            run = _wait("the run", lambda: next(iter(b.get("/api/runs").json()["runs"]), None))
            run_id = run["id"]
            page.goto(f"{cluster.b.url}/runs/{run_id}")  # the page is on B; the SDK writes through A
            page.locator('[data-metric-key="loss"]').wait_for(timeout=30_000)
            first = _steps_on_page(page)
            _wait("live chart points", lambda: _steps_on_page(page) > first + 5)
            _wait("live terminal lines", lambda: _last_line_shown(page) >= 10)
            shot(page, "multiprocess-01-live-on-b")

            cluster.redis.stop()  # live fan-out between A and B is gone: B's terminal catches up from the database
            seen = _last_line_shown(page)
            _wait("terminal lines during the Redis outage", lambda: _last_line_shown(page) > seen + 10)
            cluster.redis.start()
            seen = _last_line_shown(page)
            points = _steps_on_page(page)
            _wait("terminal lines after Redis is back", lambda: _last_line_shown(page) > seen + 10)
            _wait("chart points after Redis is back", lambda: _steps_on_page(page) > points + 10)

            cluster.a.kill()  # SIGKILL: the SDK goes on through nginx to B
            seen = _last_line_shown(page)
            _wait("terminal lines after A was killed", lambda: _last_line_shown(page) > seen + 20, timeout=60)
            shot(page, "multiprocess-02-after-kill")
            stop.touch()
            assert training.wait(60) == 0
            _wait("the run completed", lambda: b.get(f"/api/runs/{run_id}").json()["status"] == "completed")
            page.wait_for_function(
                "() => document.querySelector('[data-testid=log-indicator]').textContent.includes('Completed')",
                timeout=20_000,
            )

            # every step once, every line once, in the database and on the page
            history = b.get(f"/api/runs/{run_id}/metrics", params={"keys": "loss"}).json()["metrics"]["loss"]
            steps = history["step"]
            assert steps == list(range(len(steps))) and history["count"] == len(steps)
            raw = b.get(f"/api/runs/{run_id}/logs").content.decode()
            printed = re.findall(r"training line (\d+)", raw)
            assert printed == [str(i) for i in range(len(steps))]
            _wait("the last line on the page", lambda: _last_line_shown(page) == len(steps) - 1)
            shown = [ln for ln in terminal_lines(page) if ln.startswith("training line ")]
            assert len(shown) == len(set(shown)) == len(steps)
            _wait("the chart's last point", lambda: _steps_on_page(page) == len(steps))
            page.get_by_role("tab", name="LINES").click()
            lines = page.get_by_test_id("lines")
            lines.get_by_text(f"training line {len(steps) - 1}", exact=True).wait_for(timeout=20_000)
            shot(page, "multiprocess-03-completed")
    finally:
        stop.touch()
        if training.poll() is None:
            training.kill()
            training.wait(10)
