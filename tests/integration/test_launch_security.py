"""Launching is remote code execution by design: every refusal, through a real server with authentication on
(and an in-process app without ``--allow-launch``)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from tests.support.auth import Seeded, add_token, grant_launch, seed
from tests.support.launch import ended, events, wait_for
from tests.support.servers import API_HEADERS, ServerProcess

from trainboard.server.app import create_app
from trainboard.server.settings import Settings

FOREIGN = "https://evil.example"


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("launch-root")
    (root / "exp").mkdir()
    outside = tmp_path_factory.mktemp("outside")
    (root / "escape").symlink_to(outside)
    (root / "secret.py").write_text(
        "import os\nprint('secret ok' if os.environ.get('MY_API_KEY') == 's3cr3t-value-9' else 'secret missing')\n"
        "print('leak' if 'TRAINBOARD_DB_PASSWORD' in os.environ else 'no leak')\n"
    )
    return root


@pytest.fixture(scope="module")
def world(root: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, Seeded]]:
    data = tmp_path_factory.mktemp("data")
    seeded = seed(data)
    grant_launch(data, "ed")  # an editor an admin let launch (issue 21: else no launch token for ed)
    seeded.tokens["launcher"] = add_token(data, name="launcher", scope="launch", user="ed")[1]
    server = ServerProcess(data_dir=data, db_url=None, extra_args=["--allow-launch", "--launch-root", str(root)])
    server.env = lambda: {**ServerProcess.env(server), "TRAINBOARD_DB_PASSWORD": "not for jobs"}  # type: ignore[method-assign]
    server.start()
    yield server, seeded
    server.stop()


def post(world: tuple[ServerProcess, Seeded], who: str | None, body: Any, **headers: str) -> httpx.Response:
    server, seeded = world
    sent = {**(seeded.headers(who) if who else API_HEADERS), **headers}
    return httpx.post(f"{server.url}/api/launch", json=body, headers=sent, timeout=30)


def ok_body(**extra: Any) -> dict[str, Any]:
    return {"provider": "local", "argv": [sys.executable, "-c", "print('hello')"], **extra}


def test_launching_is_off_without_allow_launch(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path, serve_ui=False))
    with TestClient(app, base_url="http://127.0.0.1", headers=API_HEADERS) as client:
        resp = client.post("/api/launch", json=ok_body())
        assert resp.status_code == 404
        assert "--allow-launch" in resp.json()["detail"]
        assert client.post("/api/runs/x/cancel", headers=API_HEADERS).status_code == 404
        listed = client.get("/api/providers").json()
        assert listed["enabled"] is False and listed["providers"] == [] and "--allow-launch" in listed["detail"]
        assert client.get("/api/runs").json()["runs"] == []


@pytest.mark.parametrize(("who", "status"), [(None, 401), ("vic", 403), ("ed", 403)])
def test_launch_needs_the_launch_scope_or_an_admin(world: tuple[ServerProcess, Seeded], who: str, status: int) -> None:
    resp = post(world, who, ok_body())
    assert resp.status_code == status, resp.text
    if status == 403:
        assert "launch" in resp.json()["detail"]


def test_a_launch_token_and_an_admin_may_launch_and_the_event_names_them(world: tuple[ServerProcess, Seeded]) -> None:
    server, seeded = world
    for who, user in (("launcher", "ed"), ("ann", "ann")):
        resp = post(world, who, ok_body(name=f"by-{who}"))
        assert resp.status_code == 201, resp.text
        run_id = resp.json()["id"]
        with httpx.Client(base_url=server.url, headers=seeded.headers("ann"), timeout=30) as http:
            run = ended(http, run_id)
            assert run["status"] == "completed"  # the job uploaded with its own run-scoped token
            assert b"hello" in http.get(f"/api/runs/{run_id}/logs").content
            launch_event = next(e for e in events(http, run_id) if e["kind"] == "launch")
            assert launch_event["data"]["by"] == user


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"argv": "python train.py"}, "argv"),
        ({"argv": ["python train.py"]}, "argv"),
        ({"argv": []}, "argv"),
        ({"argv": ["python", "a\x00b"]}, "argv"),
        ({"cwd": ".."}, "cwd"),
        ({"cwd": "/etc"}, "cwd"),
        ({"cwd": "escape"}, "cwd"),
        ({"cwd": "exp/../../"}, "cwd"),
        ({"env": {"LD_PRELOAD": "/tmp/x.so"}}, "LD_PRELOAD"),
        ({"env": {"AWS_SECRET_ACCESS_KEY": "x"}}, "AWS_SECRET_ACCESS_KEY"),
        ({"env": {"BAD NAME": "x"}}, "BAD NAME"),
        ({"secrets": {"TRAINBOARD_TOKEN": "x"}}, "TRAINBOARD_TOKEN"),
        ({"secrets": {"PATH": "/tmp"}}, "PATH"),
        ({"provider": "kubernetes"}, "provider"),
        ({"resources": {"gpus": 1}}, "gpus"),
        ({"image": "pytorch/pytorch"}, "image"),
        ({"shell": True}, "shell"),
    ],
)
def test_bad_launches_are_422_naming_the_field(
    world: tuple[ServerProcess, Seeded], body: dict[str, Any], field: str
) -> None:
    server, seeded = world
    before = httpx.get(f"{server.url}/api/runs", headers=seeded.headers("ann")).json()["total"]
    resp = post(world, "launcher", {**ok_body(), **body})
    assert resp.status_code == 422, resp.text
    assert field in str(resp.json()["detail"])
    after = httpx.get(f"{server.url}/api/runs", headers=seeded.headers("ann")).json()["total"]
    assert after == before  # nothing was created


def test_a_cross_site_page_cannot_launch(world: tuple[ServerProcess, Seeded]) -> None:
    server, seeded = world
    token = seeded.tokens["launcher"]
    for headers in (
        {"Origin": FOREIGN, "Authorization": f"Bearer {token}"},
        {"Sec-Fetch-Site": "cross-site", "Authorization": f"Bearer {token}"},
    ):
        resp = httpx.post(f"{server.url}/api/launch", json=ok_body(), headers=headers, timeout=30)
        assert resp.status_code == 403, resp.text
    # what a form or a no-cors fetch can send: no JSON content type, no X-Trainboard header
    resp = httpx.post(
        f"{server.url}/api/launch",
        content=b'{"provider": "local", "argv": ["id"]}',
        headers={"Content-Type": "text/plain", "Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert resp.status_code in (403, 415), resp.text


def test_secrets_reach_the_job_but_are_never_stored_and_the_server_env_stays_out(
    world: tuple[ServerProcess, Seeded],
) -> None:
    server, seeded = world
    resp = post(
        world, "launcher", ok_body(argv=[sys.executable, "secret.py"], secrets={"MY_API_KEY": "s3cr3t-value-9"})
    )
    assert resp.status_code == 201, resp.text
    run_id = resp.json()["id"]
    with httpx.Client(base_url=server.url, headers=seeded.headers("ann"), timeout=30) as http:
        ended(http, run_id)
        log = http.get(f"/api/runs/{run_id}/logs").content
        assert b"secret ok" in log and b"no leak" in log
        record = http.get(f"/api/runs/{run_id}/launch")
        assert record.json()["spec"]["secrets"] == ["MY_API_KEY"]
        for text in (record.text, http.get(f"/api/runs/{run_id}").text, http.get(f"/api/runs/{run_id}/events").text):
            assert "s3cr3t-value-9" not in text


def test_cancel_needs_the_launch_scope_and_is_an_event_naming_who(
    world: tuple[ServerProcess, Seeded], root: Path
) -> None:
    server, seeded = world
    (root / "sleepy.py").write_text("import time\nprint('up', flush=True)\ntime.sleep(120)\n")
    run_id = post(world, "launcher", ok_body(argv=[sys.executable, "sleepy.py"])).json()["id"]
    with httpx.Client(base_url=server.url, headers=seeded.headers("ann"), timeout=30) as http:
        wait_for("output", lambda: b"up" in http.get(f"/api/runs/{run_id}/logs").content, 60)
        url = f"{server.url}/api/runs/{run_id}/cancel"
        assert httpx.post(url, headers=seeded.headers("ed"), timeout=30).status_code == 403
        assert httpx.post(url, headers={**seeded.headers("ed"), "Origin": FOREIGN}, timeout=30).status_code == 403
        assert httpx.post(url, headers=seeded.headers("launcher"), timeout=30).status_code == 200
        assert ended(http, run_id, 30)["status"] == "interrupted"
        cancel = next(e for e in events(http, run_id) if e["kind"] == "cancel")
        assert cancel["data"]["by"] == "ed"
        not_launched = http.post("/api/runs", json={"name": "by hand"}).json()["id"]
        resp = httpx.post(f"{server.url}/api/runs/{not_launched}/cancel", headers=seeded.headers("ann"), timeout=30)
        assert resp.status_code == 409 and "not launched" in resp.json()["detail"]
