"""A page on another origin, in chromium, tries everything a page can send to the local server without a CORS
preflight: no-cors fetches to every state-changing route (with and without a body), form posts, WebSocket opens
on every WebSocket route, an EventSource. Nothing may change and nothing may be read; the server's own page
still can."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.routing import WebSocketRoute

from tests.support.servers import API_HEADERS, ServerProcess, free_port
from trainboard.server.app import create_app
from trainboard.server.http.guard import WRITES
from trainboard.server.http.routes import iter_routes
from trainboard.server.settings import Settings

pytestmark = pytest.mark.e2e


class _Ids(dict[str, str]):
    """Path parameters: the objects the test made, and a name that exists nowhere for any other."""

    def __missing__(self, key: str) -> str:
        return "nothing-here"


IDS = _Ids(run_id="r1", checkpoint_id="c1")

ATTACK_JS = """async ({base, writes, sockets}) => {
  const report = {fetches: 0, forms: 0, sockets: {}, events: {opened: false, messages: 0}};
  for (const [method, path] of writes) {
    for (const body of [undefined, '{"status": "running"}']) {
      try { await fetch(base + path, {method, mode: 'no-cors', body, credentials: 'include'}); } catch (e) {}
      report.fetches++;
    }
    // what a non-no-cors fetch may try: a preflight is needed, the server never grants it
    try {
      await fetch(base + path, {method, headers: {'X-Trainboard': '1', 'Content-Type': 'application/json'}});
    } catch (e) {}
  }
  const frame = document.createElement('iframe');
  frame.name = 'sink';
  document.body.appendChild(frame);
  for (const [method, path] of writes) {
    if (method !== 'POST') continue;
    for (const enctype of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data']) {
      const form = document.createElement('form');
      form.method = 'POST'; form.action = base + path; form.enctype = enctype; form.target = 'sink';
      const input = document.createElement('input');
      input.name = '{"status": "running", "x": "'; input.value = '"}';
      form.appendChild(input);
      document.body.appendChild(form);
      const loaded = new Promise((r) => { frame.onload = r; setTimeout(r, 3000); });
      form.submit();
      await loaded;
      report.forms++;
    }
  }
  await Promise.all(sockets.map((path) => new Promise((resolve) => {
    const state = report.sockets[path] = {opened: false, messages: 0};
    const ws = new WebSocket(base.replace('http', 'ws') + path);
    ws.onopen = () => { state.opened = true; ws.send('{"type": "subscribe", "run_id": "r1"}'); };
    ws.onmessage = () => { state.messages++; };
    ws.onclose = () => resolve();
    setTimeout(() => { ws.close(); resolve(); }, 4000);
  })));
  await new Promise((resolve) => {
    const es = new EventSource(base + '/api/runs/r1/logs/stream');
    es.onopen = () => { report.events.opened = true; };
    es.onmessage = () => { report.events.messages++; };
    es.addEventListener('log', () => { report.events.messages++; });
    setTimeout(() => { es.close(); resolve(); }, 3000);
  });
  return report;
}"""

OWN_PAGE_JS = """async () => {
  const r = await fetch('/api/runs/r1/heartbeat', {method: 'POST', headers: {'X-Trainboard': '1'}});
  const opened = await new Promise((resolve) => {
    const ws = new WebSocket(location.origin.replace('http', 'ws') + '/ws');
    ws.onopen = () => { ws.close(); resolve(true); };
    ws.onerror = () => resolve(false);
  });
  return {heartbeat: r.status, opened};
}"""


class _Page(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<!doctype html><title>elsewhere</title><body>another site</body>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: Any) -> None:
        pass


@pytest.fixture
def other_site() -> Iterator[str]:
    """A page served from another origin (another port of 127.0.0.1: another origin, the same site)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), _Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def _state(client: httpx.Client) -> dict[str, Any]:
    run = client.get("/api/runs/r1").json()
    run.pop("heartbeat_time", None)
    return {
        "runs": sorted(r["id"] for r in client.get("/api/runs").json()["runs"]),
        "run": run,
        "checkpoints": client.get("/api/runs/r1/checkpoints").json(),
        "lines": client.get("/api/runs/r1/logs/lines").json()["total"],
        "log": client.get("/api/runs/r1/logs").content,
    }


def test_a_page_on_another_origin_can_neither_change_nor_read(browser: Any, other_site: str, tmp_path: Path) -> None:
    server = ServerProcess(data_dir=tmp_path / "data", db_url=None).start()
    try:
        client = httpx.Client(base_url=server.url, timeout=30, headers=API_HEADERS)
        client.post("/api/runs", json={"id": "r1", "name": "target", "config": {"secret": "s3cr3t"}}).raise_for_status()
        ckpt = tmp_path / "model.pt"
        ckpt.write_bytes(b"weights")
        client.post("/api/runs/r1/checkpoints", json={"id": "c1", "path": str(ckpt)}).raise_for_status()
        client.post("/api/runs/r1/logs", json={"message": "private line"}).raise_for_status()
        client.put("/api/runs/r1", json={"status": "interrupted"}).raise_for_status()
        before = _state(client)

        infos = list(iter_routes(create_app(Settings(data_dir=tmp_path / "unused")).routes))
        writes = [(m, i.path.format_map(IDS)) for i in infos for m in sorted(i.methods & WRITES)]
        sockets = [i.path.format_map(IDS) for i in infos if isinstance(i.route, WebSocketRoute)]
        assert len(writes) >= 12 and len(sockets) >= 2

        context = browser.new_context()
        page = context.new_page()
        page.goto(other_site)
        report = page.evaluate(ATTACK_JS, {"base": server.url, "writes": writes, "sockets": sockets})
        assert report["fetches"] == 2 * len(writes) and report["forms"] > 0
        for path, seen in report["sockets"].items():
            assert seen == {"opened": False, "messages": 0}, path
        assert report["events"] == {"opened": False, "messages": 0}
        assert _state(client) == before
        assert client.get("/api/checkpoints/c1").json().get("is_best") in (False, None)

        own = context.new_page()  # the dashboard's own origin may do all of it
        own.goto(server.url + "/health")
        assert own.evaluate(OWN_PAGE_JS) == {"heartbeat": 204, "opened": True}
        context.close()
        client.close()
    finally:
        server.stop()
