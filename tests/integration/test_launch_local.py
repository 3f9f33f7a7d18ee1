"""Launching on the ``local`` provider through a real server: live output and metrics, cancel, exit codes, a
command that does not exist, a job that ignores SIGTERM, and a server restart while jobs run."""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
from collections.abc import Iterator
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.e2e.support import CHROMIUM, CHROMIUM_ARGS
from tests.support.launch import ended, events, job_pids, kill_tree, launch_server, run_of, wait_for
from tests.support.servers import ServerProcess, free_port


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("launch-root")


@pytest.fixture(scope="module")
def server(root: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = launch_server(root, tmp_path_factory.mktemp("data"), "--cancel-grace", "2")
    yield proc
    proc.stop()


@pytest.fixture
def http(server: ServerProcess) -> Iterator[httpx.Client]:
    with server.client() as client:
        yield client


def launch(http: httpx.Client, *argv: str, **extra: object) -> str:
    resp = http.post("/api/launch", json={"provider": "local", "argv": list(argv), **extra})
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["status"] == "queued"  # until `trainboard run` takes over on the execution side
    return str(body["id"])


def test_providers_lists_local_as_reachable(http: httpx.Client, root: Path) -> None:
    body = http.get("/api/providers").json()
    assert body["enabled"] is True
    [local] = body["providers"]
    assert local["name"] == "local" and local["reachable"] is True
    assert str(root.resolve()) in local["detail"]
    assert "CUDA_VISIBLE_DEVICES" in body["env_allowlist"]


def test_output_and_metrics_arrive_live_and_cancel_interrupts_with_the_signal(
    http: httpx.Client, server: ServerProcess
) -> None:
    run_id = launch(http, sys.executable, "train.py", "600", name="live")
    # live: output and metrics while the job still runs
    live = wait_for("live output", lambda: b"step 5" in http.get(f"/api/runs/{run_id}/logs").content, 60)
    assert live
    assert run_of(http, run_id)["status"] == "running"
    log = http.get(f"/api/runs/{run_id}/logs").content
    assert b"it/s]" in log or b"s/it]" in log  # the tqdm bar, as the terminal got it
    latest = http.get(f"/api/runs/{run_id}/metrics/latest").json()
    assert "loss" in str(latest)
    record = http.get(f"/api/runs/{run_id}/launch").json()
    assert record["provider"] == "local" and record["job_id"] and record["state"] == "running"
    pids = job_pids(server.data_dir, run_id)
    assert len(pids) >= 2  # trainboard run and the script

    refused = http.delete(f"/api/runs/{run_id}")
    assert refused.status_code == 409 and "cancel it first" in refused.json()["detail"]
    resp = http.post(f"/api/runs/{run_id}/cancel")
    assert resp.status_code == 200, resp.text
    run = ended(http, run_id, 30)
    assert run["status"] == "interrupted"
    assert run["exit_code"] == 128 + signal.SIGTERM
    stored = http.get(f"/api/runs/{run_id}/logs").content
    assert b"step 5" in stored and b"step 599" not in stored  # the output up to the cancel
    wait_for("the job's processes to end", lambda: not any(p for p in pids if _alive(p)), 15)
    kinds = {e["kind"]: e for e in events(http, run_id)}
    assert kinds["launch"]["data"]["by"] == "local" and "on local as job" in kinds["launch"]["message"]
    assert kinds["cancel"]["data"]["by"] == "local"
    assert "queued -> running" in " ".join(e["message"] for e in events(http, run_id))
    assert "run 'live' created (queued)" in kinds["run_created"]["message"]
    assert http.post(f"/api/runs/{run_id}/cancel").status_code == 409  # already ended
    wait_for("the job state", lambda: http.get(f"/api/runs/{run_id}/launch").json()["state"] == "cancelled", 15)


def printed(http: httpx.Client, run_id: str, text: bytes) -> bool:
    return text in http.get(f"/api/runs/{run_id}/logs").content


def _alive(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_exit_3_is_failed_with_exit_code_3_and_deleting_the_run_removes_the_job_files(
    http: httpx.Client, server: ServerProcess
) -> None:
    run_id = launch(http, sys.executable, "train.py", "3", "3")
    run = ended(http, run_id)
    assert (run["status"], run["exit_code"]) == ("failed", 3)
    assert b"step 2" in http.get(f"/api/runs/{run_id}/logs").content
    wait_for("the job state", lambda: http.get(f"/api/runs/{run_id}/launch").json()["exit_code"] == 3, 15)
    jobs = server.data_dir / "launch" / "local"
    files = [jobs / f"{run_id}.json", jobs / f"{run_id}.log"]
    assert all(f.is_file() for f in files)  # kept while the run exists (the native log is served)
    other = launch(http, sys.executable, "train.py", "1")
    ended(http, other)
    assert http.delete(f"/api/runs/{run_id}").status_code == 200
    assert http.get(f"/api/runs/{run_id}/launch").status_code == 404  # the launch record went with the run
    assert [f for f in files if f.exists()] == []  # and the job's record and native log
    assert not (jobs / run_id).exists()  # nor its folder (its client data directory)
    assert (jobs / other / "client").is_dir()  # each job has its own
    assert (jobs / f"{other}.json").is_file() and (jobs / f"{other}.log").is_file()  # another run's stay


def test_a_run_started_by_hand_has_no_launch_record_and_that_is_not_an_error(http: httpx.Client) -> None:
    """The run page asks every run for its launch: a run started by hand answers 204 (no error in the
    browser's console), an unknown run 404."""
    http.post("/api/runs", json={"id": "by-hand"}).raise_for_status()
    resp = http.get("/api/runs/by-hand/launch")
    assert resp.status_code == 204 and resp.content == b""
    assert http.get("/api/runs/no-such-run/launch").status_code == 404


def test_a_cancel_sent_while_the_deploy_runs_stops_the_job_when_it_is_deployed(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server waits before its (real) deploy here: the window in which the cancel arrives."""
    monkeypatch.setenv("TRAINBOARD_TEST_DEPLOY_DELAY", "1.5")
    slow = launch_server(root, tmp_path / "data", "--cancel-grace", "2")
    try:
        with slow.client() as http:
            answer: dict[str, httpx.Response] = {}
            body = {"provider": "local", "argv": [sys.executable, "train.py", "600"], "name": "early-cancel"}
            thread = threading.Thread(target=lambda: answer.update(resp=http.post("/api/launch", json=body)))
            thread.start()
            runs = wait_for("the queued run", lambda: http.get("/api/runs").json()["runs"], 10, 0.05)
            run_id = runs[0]["id"]
            assert http.get(f"/api/runs/{run_id}/launch").json()["job_id"] is None  # still deploying
            assert http.post(f"/api/runs/{run_id}/cancel").status_code == 200
            thread.join(30)
            assert answer["resp"].status_code == 201
            run = ended(http, run_id, 30)
            assert run["status"] == "interrupted"
            record = http.get(f"/api/runs/{run_id}/launch").json()
            assert record["job_id"] and record["state"] == "cancelled" and record["cancelled_by"] == "local"
            wait_for("the job's processes to end", lambda: job_pids(slow.data_dir, run_id) == [], 15)
            assert b"step 5" not in http.get(f"/api/runs/{run_id}/logs").content
    finally:
        slow.stop()


def test_a_missing_command_fails_clearly_with_the_native_message(http: httpx.Client) -> None:
    run_id = launch(http, "no-such-program-4e2f", "--x")
    run = ended(http, run_id)
    assert (run["status"], run["exit_code"]) == ("failed", 127)
    why = "cannot start 'no-such-program-4e2f': No such file or directory"
    assert why in " ".join(e["message"] for e in events(http, run_id))
    assert why.encode() in http.get(f"/api/runs/{run_id}/logs").content
    # the provider's own log is read from the job's folder: under load its last write can follow the status
    wait_for("the native log", lambda: why.encode() in http.get(f"/api/runs/{run_id}/launch/logs").content, 30)
    native = http.get(f"/api/runs/{run_id}/launch/logs")
    assert native.status_code == 200 and why.encode() in native.content
    assert native.headers["content-type"] == "application/octet-stream"


def test_a_job_that_ignores_sigterm_is_killed_after_the_grace(
    http: httpx.Client, server: ServerProcess, root: Path
) -> None:
    (root / "stubborn.py").write_text(
        "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nprint('ready', flush=True)\n"
        "while True:\n    time.sleep(0.1)\n"
    )
    run_id = launch(http, sys.executable, "stubborn.py")
    wait_for("ready", lambda: b"ready" in http.get(f"/api/runs/{run_id}/logs").content, 60)
    pids = job_pids(server.data_dir, run_id)
    assert http.post(f"/api/runs/{run_id}/cancel").status_code == 200
    run = ended(http, run_id, 30)
    assert run["status"] == "interrupted"
    wait_for("the stubborn processes to be killed", lambda: not any(_alive(p) for p in pids), 15)
    assert "cancelled by local" in " ".join(e["message"] for e in events(http, run_id))


CROSS_SITE_JS = """async ({base, body}) => {
  for (const opts of [
    {method: 'POST', mode: 'no-cors', body, credentials: 'include'},
    {method: 'POST', mode: 'no-cors', body, headers: {'Content-Type': 'text/plain'}},
    {method: 'POST', body, headers: {'Content-Type': 'application/json', 'X-Trainboard': '1'}},
  ]) {
    try { await fetch(base + '/api/launch', opts); } catch (e) {}
  }
  const frame = document.createElement('iframe');
  frame.name = 'sink';
  document.body.appendChild(frame);
  for (const enctype of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data']) {
    const form = document.createElement('form');
    form.method = 'POST'; form.action = base + '/api/launch'; form.enctype = enctype; form.target = 'sink';
    const input = document.createElement('input');
    input.name = body.slice(0, -1) + ', "x": "'; input.value = '"}';
    form.appendChild(input);
    document.body.appendChild(form);
    const loaded = new Promise((r) => { frame.onload = r; setTimeout(r, 3000); });
    form.submit();
    await loaded;
  }
  return true;
}"""


class _Elsewhere(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        page = b"<!doctype html><title>elsewhere</title><body>another site</body>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(page)))
        self.end_headers()
        self.wfile.write(page)

    def log_message(self, *_args: Any) -> None:
        pass


@pytest.mark.e2e
def test_a_page_on_another_site_cannot_launch_in_chromium(
    http: httpx.Client, server: ServerProcess, root: Path
) -> None:
    """Auth is off here (loopback, no users): only the origin rules stand between a web page and a shell."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} missing")
    sync_api = pytest.importorskip("playwright.sync_api")
    marker = root / "pwned"
    body = json.dumps({"provider": "local", "argv": [sys.executable, "-c", f"open({str(marker)!r}, 'w')"]})
    before = http.get("/api/runs").json()["total"]
    elsewhere = ThreadingHTTPServer(("127.0.0.1", free_port()), _Elsewhere)
    threading.Thread(target=elsewhere.serve_forever, daemon=True).start()
    try:
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{elsewhere.server_address[1]}/")
            assert page.evaluate(CROSS_SITE_JS, {"base": server.url, "body": body}) is True
            browser.close()
    finally:
        elsewhere.shutdown()
        elsewhere.server_close()
    time.sleep(1.0)
    assert http.get("/api/runs").json()["total"] == before
    assert not marker.exists()
    # the same request from an API client (not a web page) does launch: the refusals above were the origin rules
    resp = http.post("/api/launch", content=body, headers={"Content-Type": "application/json"})
    assert resp.status_code == 201, resp.text
    wait_for("the marker", marker.exists, 60)


def test_a_restarted_server_finds_running_jobs_again_and_marks_vanished_ones(server: ServerProcess) -> None:
    """Last in the file: it restarts the module's server."""
    with server.client() as http:
        keep = launch(http, sys.executable, "train.py", "600")
        vanish = launch(http, sys.executable, "train.py", "600")
        for run_id in (keep, vanish):
            wait_for("output", partial(printed, http, run_id, b"step 1"), 60)
    server.kill(signal.SIGKILL)
    kill_tree(job_pids(server.data_dir, vanish))  # trainboard run cannot end its run: the job is gone
    server.start()
    with server.client() as http:
        run = ended(http, vanish, 30)
        assert run["status"] == "interrupted"
        reasons = " ".join(e["message"] for e in events(http, vanish))
        assert "server restart" in reasons
        assert run_of(http, keep)["status"] == "running"
        assert http.get(f"/api/runs/{keep}/launch").json()["state"] == "running"
        found = wait_for(
            "the found-again event", lambda: [e for e in events(http, keep) if "found again" in e["message"]]
        )
        assert "still running" in found[0]["message"]
        assert not any("lost" in e["message"] for e in events(http, keep))
        before = len(http.get(f"/api/runs/{keep}/logs").content)
        wait_for("more output", lambda: len(http.get(f"/api/runs/{keep}/logs").content) > before, 30)
        assert http.post(f"/api/runs/{keep}/cancel").status_code == 200
        assert ended(http, keep, 30)["status"] == "interrupted"
