"""The gate on every route of the app, taken from the app's own route table (REST, SSE, both WebSockets,
downloads, docs, /openapi.json): 401 without credentials, 403 with too low a role or scope, through with the
right one; a run-scoped token cannot touch another run. A route added later is in the table, so in this test."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.support.auth import Seeded, add_token, seed
from tests.support.servers import API_HEADERS, ServerProcess
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from trainboard.server.app import create_app
from trainboard.server.auth.policy import PUBLIC, RouteTable, Rule
from trainboard.server.auth.roles import ADMIN, READ, WRITE
from trainboard.server.settings import Settings

#: Deletes go last, the run itself at the very end (everything else needs it).
_LAST = {"delete_checkpoint": 1, "clear_logs": 2, "revoke_token": 3, "delete_user": 4, "delete_run": 5}


def _rules(tmp: Path) -> list[Rule]:
    rules = RouteTable(create_app(Settings(data_dir=tmp / "unused")).routes).rules
    return sorted(rules, key=lambda r: _LAST.get(r.name, 0))


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, Seeded, dict[str, str]]]:
    tmp = tmp_path_factory.mktemp("gate")
    data = tmp / "data"
    seeded = seed(data)
    (tmp / "m.pt").write_bytes(b"weights")
    server = ServerProcess(data_dir=data, db_url=None, extra_args=["--checkpoint-root", str(tmp)]).start()
    try:
        with httpx.Client(base_url=server.url, timeout=30.0) as c:
            ed = seeded.headers("ed")
            run = c.post("/api/runs", json={"id": "run-a", "name": "a"}, headers=ed).json()
            assert run["created_by"] == "ed"
            c.post("/api/runs", json={"id": "run-b", "name": "b"}, headers=ed).raise_for_status()
            ckpt = c.post("/api/runs/run-a/checkpoints", json={"path": str(tmp / "m.pt"), "step": 1}, headers=ed)
            ckpt.raise_for_status()
            ckpt_b = c.post("/api/runs/run-b/checkpoints", json={"path": str(tmp / "m.pt"), "step": 2}, headers=ed)
            ckpt_b.raise_for_status()
            admin = seeded.headers("ann")
            c.post("/api/users", json={"name": "zed", "role": "viewer", "password": "zed-passphrase"}, headers=admin)
            spare = c.post("/api/tokens", json={"name": "spare", "scope": "read"}, headers=admin).json()
        values = {
            "run_id": "run-a",
            "checkpoint_id": ckpt.json()["id"],
            "name": "zed",
            "token_id": str(spare["id"]),
            "path": "index.html",
            "run_b": "run-b",
            "checkpoint_b": ckpt_b.json()["id"],
        }
        _, run_b_token = add_token(data, name="job-b", scope="write", user="ed", run_id="run-b")
        seeded.tokens["job-b"] = run_b_token
        yield server, seeded, values
    finally:
        server.stop()


def _path(rule: Rule, values: dict[str, str]) -> str:
    path = re.sub(r"\{(\w+)(:\w+)?\}", lambda m: values.get(m.group(1), "x"), rule.path)
    return path.replace("/apidocs/x", "/apidocs/swagger-ui.css")


def _status(server: ServerProcess, rule: Rule, path: str, headers: dict[str, str]) -> int:
    """The status the route answers (a WebSocket: its handshake's; 101 when accepted)."""
    if rule.methods is None:
        url = server.url.replace("http://", "ws://") + path
        try:
            with connect(url, additional_headers=headers, open_timeout=10):
                return 101
        except InvalidStatus as exc:
            return exc.response.status_code
    method = sorted(rule.methods - {"HEAD"})[0]
    body: dict[str, object] | None = {} if method in ("POST", "PUT") else None
    with (
        httpx.Client(base_url=server.url, timeout=30.0) as c,
        c.stream(method, path, json=body, headers={**API_HEADERS, **headers}) as r,
    ):
        return r.status_code  # an event stream is left after its status line


def test_every_route_is_in_the_table_and_only_the_known_ones_are_public(tmp_path: Path) -> None:
    rules = _rules(tmp_path)
    assert {r.name for r in rules if r.public} == set(PUBLIC)
    assert {r.path for r in rules if r.methods is None} == {
        "/ws",
        "/api/runs/{run_id}/logs/stream",
        "/api/runs/{run_id}/lines/ws",
    }
    assert {"openapi", "swagger_ui", "redoc", "download_checkpoint", "download_lines", "stream_raw"} <= {
        r.name for r in rules
    }


def test_without_credentials_every_protected_route_answers_401(
    tmp_path: Path, world: tuple[ServerProcess, Seeded, dict[str, str]]
) -> None:
    server, _, values = world
    wrong: list[str] = []
    for rule in _rules(tmp_path):
        status = _status(server, rule, _path(rule, values), {})
        if (rule.public and status == 401) or (not rule.public and status != 401):
            wrong.append(f"{rule.name} {rule.path}: {status}")
    for bad in ({"Authorization": "Bearer tb_not-a-token"}, {"Cookie": "trainboard_session=forged"}):
        rule = next(r for r in _rules(tmp_path) if r.name == "list_runs")
        if _status(server, rule, "/api/runs", bad) != 401:
            wrong.append(f"list_runs with {bad}")
    with httpx.Client(base_url=server.url) as c:  # no route at all: still the gate's answer, not a 404
        assert c.post("/api/nothing-here", headers=API_HEADERS).status_code == 401
    assert wrong == []


def test_too_low_a_role_or_scope_is_403_and_the_right_one_gets_through(
    tmp_path: Path, world: tuple[ServerProcess, Seeded, dict[str, str]]
) -> None:
    server, seeded, values = world
    lower = {WRITE: "vic", ADMIN: "ed"}  # a viewer's read token on writes, an editor's on admin routes
    right = {READ: "vic", WRITE: "ed", ADMIN: "ann"}
    wrong: list[str] = []
    checked = 0
    for rule in _rules(tmp_path):
        if rule.public:
            continue
        path = _path(rule, values)
        if rule.level in lower:
            status = _status(server, rule, path, {"Authorization": f"Bearer {seeded.tokens[lower[rule.level]]}"})
            checked += 1
            if status != 403:
                wrong.append(f"too low {rule.name}: {status}")
        status = _status(server, rule, path, {"Authorization": f"Bearer {seeded.tokens[right[rule.level]]}"})
        if status in (401, 403) or status >= 500:
            wrong.append(f"right {rule.name} {path}: {status}")
    assert wrong == []
    assert checked >= 15


def test_a_run_scoped_token_touches_its_run_and_nothing_else(
    tmp_path: Path, world: tuple[ServerProcess, Seeded, dict[str, str]]
) -> None:
    server, seeded, values = world
    other = {"Authorization": f"Bearer {seeded.tokens['job-b']}"}  # run-b's token on run-a (or on no run)
    own = {"Authorization": f"Bearer {seeded.tokens['job-b']}"}
    wrong: list[str] = []
    for rule in _rules(tmp_path):
        if rule.public:
            continue
        path = _path(rule, values)  # every path names run-a (or its checkpoint), or no run at all
        status = _status(server, rule, path, other)
        if status != 403:
            wrong.append(f"other run {rule.name}: {status}")
        if rule.run_scoped and rule.name not in ("create_run", *_LAST):
            mine = {**values, "run_id": values["run_b"], "checkpoint_id": values["checkpoint_b"]}
            status = _status(server, rule, _path(rule, mine), own)
            if status in (401, 403):
                wrong.append(f"own run {rule.name}: {status}")
    with httpx.Client(base_url=server.url, timeout=30.0, headers=API_HEADERS) as c:
        assert c.post("/api/runs", json={"id": "run-c"}, headers=own).status_code == 403
        assert c.post("/api/runs", json={"name": "no id"}, headers=own).status_code == 403
        assert c.post("/api/runs", json={"id": "run-b", "name": "b"}, headers=own).status_code == 200
        assert c.delete("/api/runs/run-b", headers=own).status_code == 403
    assert wrong == []
