"""Who may launch, as the web UI learns it and as launches record it: ``/api/auth/me``'s ``can_launch`` follows
the role and the admin's grant at every request, and a service token's launch (and cancel) is recorded under
the token's name rather than a bare "token"."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.support.auth import Seeded, add_token, grant_launch, seed
from tests.support.launch import wait_for
from tests.support.servers import API_HEADERS, ServerProcess

SLEEP = [sys.executable, "-c", "import time; time.sleep(60)"]


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, Seeded, Path]]:
    data = tmp_path_factory.mktemp("launch-grants")
    root = data / "jobs"
    root.mkdir()
    seeded = seed(data)
    server = ServerProcess(data_dir=data, db_url=None, extra_args=["--allow-launch", "--launch-root", str(root)])
    server.start(timeout=90)
    try:
        yield server, seeded, root
    finally:
        server.stop()


def me(server: ServerProcess, token: str) -> dict[str, object]:
    r = httpx.get(server.url + "/api/auth/me", headers={**API_HEADERS, "Authorization": f"Bearer {token}"})
    r.raise_for_status()
    body: dict[str, object] = r.json()
    return body


def test_me_says_who_may_launch_and_follows_the_grant_at_once(env: tuple[ServerProcess, Seeded, Path]) -> None:
    server, seeded, _ = env
    assert me(server, seeded.tokens["ann"])["can_launch"] is True  # an admin's admin token
    assert me(server, seeded.tokens["ed"])["can_launch"] is False  # an editor without the grant
    assert me(server, seeded.tokens["vic"])["can_launch"] is False
    _, launch_token = add_token(server.data_dir, name="ed-launch", scope="launch", user="ann")
    assert me(server, launch_token)["can_launch"] is True
    grant_launch(server.data_dir, "ed")
    _, ed_launch = add_token(server.data_dir, name="ed-launch", scope="launch", user="ed")
    assert me(server, ed_launch)["can_launch"] is True
    assert me(server, seeded.tokens["ed"])["can_launch"] is False  # his write token still may not launch
    # a browser session of the granted editor: what the UI's New run button follows
    with httpx.Client(base_url=server.url, headers=API_HEADERS) as browser:
        assert browser.post("/api/auth/login", json={"username": "ed", "password": "ed-secret-22"}).status_code == 200
        assert browser.get("/api/auth/me").json()["can_launch"] is True
        with httpx.Client(base_url=server.url, headers=seeded.headers("ann")) as admin:
            assert admin.put("/api/users/ed", json={"can_launch": False}).status_code == 200
        assert browser.get("/api/auth/me").json()["can_launch"] is False  # withdrawn: at the next request


def test_a_service_tokens_launch_and_cancel_are_recorded_by_its_name(env: tuple[ServerProcess, Seeded, Path]) -> None:
    server, _, root = env
    _, bot = add_token(server.data_dir, name="ci-bot", scope="launch")
    _, other = add_token(server.data_dir, name="nightly", scope="launch")
    as_bot = {**API_HEADERS, "Authorization": f"Bearer {bot}"}
    with httpx.Client(base_url=server.url, headers=as_bot, timeout=30) as c:
        r = c.post("/api/launch", json={"provider": "local", "argv": SLEEP, "cwd": str(root), "name": "by-bot"})
        assert r.status_code == 201, r.text
        run_id = r.json()["id"]
        assert c.get(f"/api/runs/{run_id}/launch").json()["launched_by"] == "token:ci-bot"
        # another service token is not its launcher
        refused = httpx.post(
            f"{server.url}/api/runs/{run_id}/cancel", headers={**API_HEADERS, "Authorization": f"Bearer {other}"}
        )
        assert refused.status_code == 403 and "'token:ci-bot'" in refused.json()["detail"]
        assert c.post(f"/api/runs/{run_id}/cancel").status_code == 200
        record = wait_for("the cancel", lambda: (x := c.get(f"/api/runs/{run_id}/launch").json())["finished"] and x)
        assert record["cancelled_by"] == "token:ci-bot"
        events = c.get(f"/api/runs/{run_id}/events").json()["events"]
        assert any("token:ci-bot" in e["message"] for e in events), events
