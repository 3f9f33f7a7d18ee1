"""The SDK never records its own activity: with ``logging.basicConfig(level=DEBUG)`` and
``attach_logging()``, none of its HTTP requests' log records reach the run (no feedback loop), while
the user's own httpx requests are logged and recorded as usual."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
from tests.support.servers import ServerProcess

SCRIPT = r"""
import logging, sys, time
import httpx
from trainboard import TrainingMonitor

logging.basicConfig(level=logging.DEBUG, format="%(levelname)s %(name)s: %(message)s")
url, data = sys.argv[1:3]
mon = TrainingMonitor("feedback", dashboard_url=url, data_dir=data, system_metrics=False, flush_timeout=30)
mon.attach_logging()
print("RUN", mon.run_id, flush=True)
log = logging.getLogger("train")
for step in range(30):
    mon.log_metrics({"loss": 1.0 / (step + 1)}, step=step)
    print(f"step {step}", flush=True)
    if step % 10 == 0:
        log.info("step %d", step)
    time.sleep(0.05)  # every step's output is uploaded live: each upload is an SDK request
httpx.get(url + "/health?from=user")  # the user's own request logs as usual
mon.finish()
"""


def test_sdk_requests_are_never_logged_into_the_run(server: ServerProcess, tmp_path: Path) -> None:
    script = tmp_path / "feedback.py"
    script.write_text(SCRIPT)
    done = subprocess.run(
        [sys.executable, str(script), server.url, str(tmp_path / "client")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout
    run_id = done.stdout.split(b"RUN ", 1)[1].split(b"\n", 1)[0].decode()
    raw = httpx.get(f"{server.url}/api/runs/{run_id}/logs", timeout=30).content
    assert raw.count(b"HTTP Request:") == 1  # the user's request only, no upload of the SDK's own
    assert b"HTTP Request: GET " + server.url.encode() + b"/health?from=user" in raw
    assert b"/api/runs" not in raw and b"httpcore.http11: send_request_headers" in raw  # user's DEBUG kept
    assert raw.count(b"step ") == 30 + 3  # the prints and the three application log lines

    lines = httpx.get(
        f"{server.url}/api/runs/{run_id}/logs/lines", params={"source": "sdk", "limit": 10000}, timeout=30
    ).json()["lines"]
    texts = [str(line) for line in lines]
    assert sum("HTTP Request" in t for t in texts) == 1  # through attach_logging(): the user's only
    assert not any("/api/runs" in t for t in texts)
    assert sum("step 0" in t or "step 10" in t or "step 20" in t for t in texts) == 3
    assert not any(":" in t and "trainboard-" in t for t in texts)
