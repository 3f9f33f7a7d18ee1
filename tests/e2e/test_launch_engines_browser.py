"""Launching on real engines from the browser: the New run dialog with the slurm and ray providers, the job's
output live in the run's terminal, the provider and its job id in the header, Cancel, the final status.

The engines (a one-node SLURM cluster and a Ray head, both on 127.0.0.1) start once for the file."""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.support import ensure_bundle, shot, terminal_lines
from tests.support.engines import ray_head, slurm_cluster
from tests.support.launching import CLIENT, launch_server
from tests.support.servers import ServerProcess

pytestmark = pytest.mark.e2e

TRAIN = """\
import time
from tqdm import tqdm
for step in tqdm(range(100000), mininterval=0, desc="epoch"):
    if step % 5 == 0:
        print(f"step {step} loss={1 / (step + 1):.4f}", flush=True)
    time.sleep(0.1)
"""


@pytest.fixture(scope="module")
def engines_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, Path]]:
    ensure_bundle()
    tmp = tmp_path_factory.mktemp("engines-browser")
    root = tmp / "jobs"
    root.mkdir()
    (root / "train.py").write_text(TRAIN, encoding="utf-8")
    client_env = {"TRAINBOARD_DATA": str(tmp / "client")}
    with slurm_cluster() as cluster, ray_head() as head:
        providers = {
            "slurm": {"client": CLIENT, "slurm_conf": str(cluster.conf), "env": client_env},
            "ray": {"address": head.dashboard_url, "client": CLIENT, "env": client_env},
        }
        with launch_server(tmp / "data", root, providers, cancel_grace=3) as server:
            yield server, root


def wait_until(check: Any, what: str, timeout: float = 45.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.parametrize("provider", ["slurm", "ray"])
def test_launch_watch_and_cancel_on_an_engine(
    page: Any, engines_server: tuple[ServerProcess, Path], provider: str
) -> None:
    server, root = engines_server
    page.goto(server.url)
    page.get_by_role("button", name="[+ NEW RUN]").click()
    dialog = page.get_by_role("dialog", name="new run")
    choice = dialog.get_by_role("combobox", name="provider")
    wait_until(lambda: f"{provider} ● reachable" in choice.inner_text(), f"{provider} to be listed reachable")
    choice.select_option(provider)
    dialog.get_by_role("textbox", name="command line").fill(f"{sys.executable} train.py")
    dialog.get_by_role("textbox", name="working directory").fill(str(root))
    dialog.get_by_role("textbox", name="name", exact=True).fill(f"on-{provider}")
    dialog.get_by_role("button", name="[LAUNCH]").click()
    page.get_by_role("dialog", name="new run").wait_for(state="detached")
    page.wait_for_url(re.compile(r"/runs/[^/]+$"))
    run_id = page.url.rsplit("/", 1)[-1]

    # the job's output (tqdm bar included) arrives live in the run's terminal; the bar's redraws overwrite the
    # start of some printed lines, as on a real terminal, so look for what follows
    wait_until(lambda: any("0 loss=0.0" in line for line in terminal_lines(page)), "live output in the terminal")
    assert "epoch:" in "\n".join(terminal_lines(page))
    assert page.get_by_test_id("launch-provider").inner_text() == provider
    job_id = httpx.get(f"{server.url}/api/runs/{run_id}/launch").json()["job_id"]
    # shown once the page reads the launch again (on the run's status change, else within its 3 s poll)
    wait_until(lambda: page.get_by_test_id("launch-job-id").inner_text().strip() == job_id, f"job id {job_id} shown")
    page.locator('[data-status="running"]').first.wait_for()
    shot(page, f"launch-{provider}-running")

    page.get_by_role("button", name="[CANCEL RUN]").click()
    page.get_by_role("alertdialog", name="confirm cancel").get_by_role("button", name="[YES, CANCEL THE RUN]").click()
    page.locator('.actions-panel [data-status="interrupted"]').wait_for(timeout=30_000)
    assert httpx.get(f"{server.url}/api/runs/{run_id}").json()["status"] == "interrupted"
    assert "0 loss=0.0" in "\n".join(terminal_lines(page))  # what ran before the cancel stays
    shot(page, f"launch-{provider}-cancelled")
