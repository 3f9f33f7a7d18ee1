"""Launching from the browser: the New run dialog on the local provider, the job's output live in the terminal,
Cancel with its confirmation, the final status; and a page on another origin that cannot launch anything."""

from __future__ import annotations

import http.server
import re
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.support import ensure_bundle, shot, terminal_lines
from tests.support.launching import kill_jobs_under
from tests.support.servers import API_HEADERS, ServerProcess, free_port

pytestmark = pytest.mark.e2e

TRAIN = """\
import sys, time
print("args", sys.argv[1:], flush=True)
for step in range(100000):
    print(f"step {step} loss={1 / (step + 1):.4f}", flush=True)
    time.sleep(0.1)
"""


@pytest.fixture(scope="module")
def launch_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, Path]]:
    """One server for the file (starting one costs seconds); each test tells its runs apart by name or id."""
    ensure_bundle()
    tmp_path = tmp_path_factory.mktemp("launch-browser")
    root = tmp_path / "jobs"
    root.mkdir()
    (root / "train.py").write_text(TRAIN, encoding="utf-8")
    server = ServerProcess(
        data_dir=tmp_path / "data",
        db_url=None,
        extra_args=["--allow-launch", "--launch-root", str(root), "--cancel-grace", "5"],
    ).start()
    try:
        yield server, root
    finally:
        server.stop()
        kill_jobs_under(tmp_path)  # jobs outlive their server by design; a failed test must not leave them


def wait_until(check: Any, what: str, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_launch_watch_and_cancel_from_the_dialog(page: Any, launch_server: tuple[ServerProcess, Path]) -> None:
    server, root = launch_server
    page.goto(server.url)
    page.get_by_role("button", name="[+ NEW RUN]").click()
    dialog = page.get_by_role("dialog", name="new run")
    provider = dialog.get_by_role("combobox", name="provider")
    wait_until(lambda: provider.input_value() == "local", "the local provider to be listed")
    assert "local ● reachable" in provider.inner_text()

    dialog.get_by_role("textbox", name="command line").fill(f'{sys.executable} train.py --tag "a b" $HOME')
    words = dialog.get_by_test_id("argv-word").all_inner_texts()
    assert words == [sys.executable, "train.py", "--tag", "a b", "$HOME"]
    assert "no shell: variables are passed to the program as plain text" in dialog.inner_text()
    dialog.get_by_role("textbox", name="working directory").fill(str(root))
    dialog.get_by_role("textbox", name="name", exact=True).fill("from-the-dialog")
    shot(page, "launch-dialog")
    dialog.get_by_role("button", name="[LAUNCH]").click()

    # the dialog closes once the server answered, and the page shows the new run
    page.get_by_role("dialog", name="new run").wait_for(state="detached")
    page.wait_for_url(re.compile(r"/runs/[^/]+$"))
    run_id = page.url.rsplit("/", 1)[-1]
    assert httpx.get(f"{server.url}/api/runs/{run_id}").json()["name"] == "from-the-dialog"
    # the job's output arrives live, with its argv word for word (no shell expanded $HOME)
    wait_until(lambda: any("step 5 " in line for line in terminal_lines(page)), "live output in the terminal")
    assert "args ['--tag', 'a b', '$HOME']" in "\n".join(terminal_lines(page))
    assert page.get_by_test_id("launch-provider").inner_text() == "local"
    assert page.get_by_test_id("launch-job-id").inner_text().strip() not in ("", "—")
    page.locator('[data-status="running"]').first.wait_for()
    shot(page, "launch-running")

    page.get_by_role("button", name="[CANCEL RUN]").click()
    confirm = page.get_by_role("alertdialog", name="confirm cancel")
    assert "from-the-dialog" in confirm.inner_text()
    confirm.get_by_role("button", name="[NO, KEEP IT RUNNING]").click()
    time.sleep(0.5)
    assert httpx.get(f"{server.url}/api/runs/{run_id}").json()["status"] == "running"

    page.get_by_role("button", name="[CANCEL RUN]").click()
    page.get_by_role("alertdialog", name="confirm cancel").get_by_role("button", name="[YES, CANCEL THE RUN]").click()
    page.locator('.actions-panel [data-status="interrupted"]').wait_for(timeout=20_000)
    run = httpx.get(f"{server.url}/api/runs/{run_id}").json()
    assert run["status"] == "interrupted"
    with_output = "\n".join(terminal_lines(page))
    assert "step 5 " in with_output  # what ran before the cancel stays
    assert page.get_by_role("button", name="[CANCEL RUN]").count() == 0
    shot(page, "launch-cancelled")

    # Run again: the same argv, prefilled
    page.get_by_role("button", name="[RUN AGAIN]").click()
    again = page.get_by_role("dialog", name="new run")
    assert again.get_by_role("textbox", name="command line").input_value() == (
        f"{sys.executable} train.py --tag 'a b' '$HOME'"
    )
    again.get_by_role("button", name="[CLOSE]").click()


class _Elsewhere(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<!doctype html><title>elsewhere</title><body>another site</body>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: Any) -> None:
        pass


ATTACK_JS = """async ({base, body}) => {
  const tries = [];
  const attempt = async (init) => {
    try { const r = await fetch(base + '/api/launch', init); tries.push(r.type + ':' + r.status); }
    catch (e) { tries.push('error'); }
  };
  await attempt({method: 'POST', mode: 'no-cors', body});
  await attempt({method: 'POST', mode: 'no-cors', body, headers: {'Content-Type': 'text/plain'}});
  await attempt({method: 'POST', body, headers: {'Content-Type': 'application/json', 'X-Trainboard': '1'}});
  const frame = document.createElement('iframe');
  frame.name = 'sink';
  document.body.appendChild(frame);
  for (const enctype of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data']) {
    const form = document.createElement('form');
    form.method = 'POST'; form.action = base + '/api/launch'; form.enctype = enctype; form.target = 'sink';
    const input = document.createElement('input');
    input.name = body.slice(0, -2) + ', "x": "'; input.value = '"}';
    form.appendChild(input);
    document.body.appendChild(form);
    const loaded = new Promise((r) => { frame.onload = r; setTimeout(r, 3000); });
    form.submit();
    await loaded;
  }
  return tries;
}"""


def test_a_page_on_another_origin_cannot_launch(browser: Any, launch_server: tuple[ServerProcess, Path]) -> None:
    server, root = launch_server
    site = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), _Elsewhere)
    threading.Thread(target=site.serve_forever, daemon=True).start()
    marker = root / "PWNED"
    body = (
        '{"provider": "local", "argv": ["'
        + sys.executable
        + '", "-c", "open(\'PWNED\', \'w\').close()"], "cwd": "'
        + str(root)
        + '"}'
    )
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(f"http://127.0.0.1:{site.server_address[1]}/")
        with httpx.Client(base_url=server.url, headers=API_HEADERS) as c:
            runs_before = [r["id"] for r in c.get("/api/runs").json()["runs"]]
        tries = page.evaluate(ATTACK_JS, {"base": server.url, "body": body})
        assert tries[2] == "error"  # the preflight a JSON request needs is never granted
        time.sleep(2)
        assert not marker.exists()
        with httpx.Client(base_url=server.url, headers=API_HEADERS) as c:
            assert [r["id"] for r in c.get("/api/runs").json()["runs"]] == runs_before
            # the same request from a non-browser client is what launches: the body itself was runnable
            assert c.post("/api/launch", content=body, headers={"Content-Type": "application/json"}).status_code == 201
        wait_until(marker.exists, "the same launch, sent by a program, to run")
    finally:
        context.close()
        site.shutdown()
        site.server_close()


def test_a_job_that_never_reached_trainboard_run_shows_the_providers_log(
    page: Any, launch_server: tuple[ServerProcess, Path]
) -> None:
    server, root = launch_server
    with httpx.Client(base_url=server.url, headers=API_HEADERS, timeout=30) as c:
        r = c.post("/api/launch", json={"provider": "local", "argv": ["no-such-program-xyz", "--x"], "cwd": str(root)})
    assert r.status_code == 201, r.text
    run_id = r.json()["id"]
    page.goto(f"{server.url}/runs/{run_id}")
    page.locator('.actions-panel [data-status="failed"]').wait_for(timeout=30_000)
    log = page.get_by_label("provider log")
    log.wait_for(timeout=15_000)
    text = log.inner_text()
    assert "LOCAL LOG — the provider's own output for this job" in text
    assert "no-such-program-xyz" in text, text
    shot(page, "launch-native-log")


@pytest.fixture(scope="module")
def granted_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, Path]]:
    """A server with users (ann admin, ed editor granted launch, vic viewer) whose local jobs cost a dollar a
    second (``rate_per_hour``), so the run page has a cost to show."""
    from tests.support.auth import grant_launch, seed

    ensure_bundle()
    tmp_path = tmp_path_factory.mktemp("launch-granted")
    root = tmp_path / "jobs"
    root.mkdir()
    (root / "train.py").write_text(TRAIN, encoding="utf-8")
    data = tmp_path / "data"
    data.mkdir()
    (data / "providers.toml").write_text("[providers.local]\nrate_per_hour = 3600\n", encoding="utf-8")
    seed(data)
    grant_launch(data, "ed")
    server = ServerProcess(
        data_dir=data, db_url=None, extra_args=["--allow-launch", "--launch-root", str(root), "--cancel-grace", "5"]
    ).start(timeout=90)
    try:
        yield server, root
    finally:
        server.stop()
        kill_jobs_under(tmp_path)  # jobs outlive their server by design; a failed test must not leave them


def _log_in(page: Any, url: str, user: str, password: str) -> None:
    page.goto(url)
    page.get_by_role("button", name="LOG IN").wait_for(timeout=90_000)  # a fresh server's first page is slow
    page.get_by_label("user name").fill(user)
    page.get_by_label("password").fill(password)
    page.get_by_role("button", name="LOG IN").click()
    page.locator('[aria-label="current user"]').wait_for()


def test_a_viewer_sees_no_launch_button(page: Any, granted_server: tuple[ServerProcess, Path]) -> None:
    server, _ = granted_server
    _log_in(page, server.url, "vic", "vic-secret-3")
    page.get_by_role("button", name="[?]").wait_for()  # the top bar is there
    assert page.get_by_role("button", name="[+ NEW RUN]").count() == 0


def test_an_editor_granted_launch_launches_and_sees_the_cost(
    page: Any, granted_server: tuple[ServerProcess, Path]
) -> None:
    server, root = granted_server
    _log_in(page, server.url, "ed", "ed-secret-22")
    page.get_by_role("button", name="[+ NEW RUN]").click()
    dialog = page.get_by_role("dialog", name="new run")
    provider = dialog.get_by_role("combobox", name="provider")
    wait_until(lambda: provider.input_value() == "local", "the local provider to be listed")
    dialog.get_by_role("textbox", name="command line").fill(f"{sys.executable} train.py")
    dialog.get_by_role("textbox", name="working directory").fill(str(root))
    dialog.get_by_role("textbox", name="name", exact=True).fill("by-granted-editor")
    dialog.get_by_role("button", name="[LAUNCH]").click()
    page.wait_for_url(re.compile(r"/runs/[^/]+$"))
    run_id = page.url.rsplit("/", 1)[-1]
    cost = page.get_by_test_id("run-cost")
    cost.wait_for()
    # a dollar a second, counting up while the run runs, with where the price comes from
    first = wait_until(lambda: (m := re.search(r"\$([\d.,]+) so far", cost.inner_text())) and m, "a cost")
    first_seen = time.time() - float(first.group(1).replace(",", ""))  # billed from about then
    assert "rate_per_hour" in cost.inner_text()
    time.sleep(2.5)
    later = re.search(r"\$([\d.,]+) so far", cost.inner_text())
    assert later and float(later.group(1)) > float(first.group(1))
    shot(page, "launch-cost")
    # the charts' COST axis (issue 21): x is what the run had cost by then, a dollar a second here
    loss = page.locator('[data-metric-key="loss"]')
    loss.wait_for(timeout=30_000)
    page.get_by_role("group", name="x axis").get_by_role("button", name="COST").click()
    wait_until(lambda: loss.get_attribute("data-x-mode") == "cost", "the loss chart on the COST axis")
    box = loss.locator(".u-over").bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.9, box["y"] + box["height"] / 2)
    readout = loss.locator(".chart-readout")
    said = wait_until(lambda: (m := re.search(r"\$([\d.,]+) spent", readout.inner_text())) and m, "a cost readout")
    assert 0 < float(said.group(1).replace(",", "")) < time.time() - first_seen + 5  # dollars, not seconds or steps
    shot(page, "launch-cost-axis")
    # and in the runs table, counting up while the run runs (issue 21)
    page.goto(f"{server.url}/table?cols=name%0Astatus%0Acost")
    cell = page.locator(f'[data-run-id="{run_id}"] [data-col="cost"] [data-live-cost="live"]')
    cell.wait_for(timeout=30_000)
    before = float(cell.inner_text().lstrip("$").replace(",", ""))
    time.sleep(2.5)
    assert float(cell.inner_text().lstrip("$").replace(",", "")) > before
    page.goto(f"{server.url}/runs/{run_id}")
    page.get_by_role("button", name="[CANCEL RUN]").click()
    page.get_by_role("alertdialog", name="confirm cancel").get_by_role("button", name="[YES, CANCEL THE RUN]").click()
    page.locator('.actions-panel [data-status="interrupted"]').wait_for(timeout=20_000)
    record = page.request.get(f"{server.url}/api/runs/{run_id}/launch").json()
    assert record["launched_by"] == "ed"
