"""Two server apps on one PostgreSQL database (as ``serve --workers 2`` runs them): the launch watcher polls in
one of them only, and a job state change observed by both (the watcher and a cancel's own poll, say) is recorded
once. The apps run through their real lifespan; the observations are handed to each app's launch service."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection
from tests.support.servers import API_HEADERS, postgres_database

from trainboard.server.app import create_app
from trainboard.server.providers.base import JobState, JobStatus
from trainboard.server.providers.service import LaunchService
from trainboard.server.settings import Settings
from trainboard.server.store import launches as launches_store
from trainboard.server.store import runs as runs_store

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def apps(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[TestClient]]:
    base = tmp_path_factory.mktemp("leader")
    root = base / "root"
    root.mkdir()
    with postgres_database() as db:
        clients: list[TestClient] = []
        try:
            for i in range(2):
                settings = Settings(
                    data_dir=base / f"data{i}", db_url=db, serve_ui=False, allow_launch=True, launch_root=root
                )
                client = TestClient(create_app(settings), base_url="http://127.0.0.1", headers=API_HEADERS)
                client.__enter__()
                clients.append(client)
            yield clients
        finally:
            for client in clients:
                client.__exit__(None, None, None)


def _service(client: TestClient) -> LaunchService:
    service = client.app.state.trainboard.extras["launch"]  # type: ignore[attr-defined]
    assert isinstance(service, LaunchService)
    return service


def test_the_watcher_polls_in_one_app_only(apps: list[TestClient]) -> None:
    rounds = [0, 0]
    originals = []
    for i, client in enumerate(apps):
        service = _service(client)
        original = service.poll_once
        originals.append((service, original))

        async def counted(*, run_id: str | None = None, i: int = i, original: Any = original) -> None:
            if run_id is None:
                rounds[i] += 1
            await original(run_id=run_id)

        service.poll_once = counted  # type: ignore[method-assign]
    try:
        deadline = time.monotonic() + 20
        while sum(rounds) < 4 and time.monotonic() < deadline:  # the leader lock is taken within ~2 s
            time.sleep(0.1)
        time.sleep(1.5)
    finally:
        for service, original in originals:
            service.poll_once = original  # type: ignore[method-assign]
    assert sorted(rounds)[0] == 0 and sorted(rounds)[1] >= 4, rounds


def _launched(client: TestClient, run_id: str) -> dict[str, Any]:
    """A launch record of a provider this server does not configure: the watcher leaves it alone."""
    state = client.app.state.trainboard  # type: ignore[attr-defined]

    def make(c: Connection) -> dict[str, Any]:
        runs_store.create_run(c, run_id=run_id, name=run_id, project="default", config={}, status="queued")
        launches_store.create_launch(c, run_id=run_id, provider="elsewhere", launched_by="local", spec={})
        launches_store.update_launch(c, run_id=run_id, changes={"job_id": "job-1"})
        found = launches_store.get_launch(c, run_id=run_id)
        assert found is not None
        return found

    launch: dict[str, Any] = client.portal.call(state.writer.run, make)  # type: ignore[union-attr]
    return launch


def _both_observe(apps: list[TestClient], launch: dict[str, Any], status: JobStatus) -> None:
    """Both apps observe ``status`` from the same (stale) snapshot at the same time."""
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def observe(client: TestClient) -> None:
        start.wait()
        try:
            client.portal.call(_service(client)._observe, launch, status)  # type: ignore[union-attr]
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=observe, args=(c,)) for c in apps]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []


@pytest.mark.parametrize("attempt", range(3))
def test_a_state_change_seen_by_both_apps_is_recorded_once(apps: list[TestClient], attempt: int) -> None:
    run_id = f"observed-{attempt}"
    first = _launched(apps[0], run_id)
    _both_observe(apps, first, JobStatus(JobState.RUNNING, native="RUNNING"))
    _both_observe(apps, first, JobStatus(JobState.FAILED, exit_code=3, native="FAILED", reason="exit code 3"))
    events = apps[1].get(f"/api/runs/{run_id}/events").json()["events"]
    states = [e["data"]["state"] for e in events if e["kind"] == "job_state"]
    assert states == ["running", "failed"]
    run = apps[1].get(f"/api/runs/{run_id}").json()
    assert (run["status"], run["exit_code"]) == ("failed", 3)
    ends = [e["data"]["new_status"] for e in events if e["kind"] == "status_change"]
    assert ends == ["failed"]  # queued -> failed, once
    assert apps[0].get(f"/api/runs/{run_id}/launch").json()["finished"] is True
