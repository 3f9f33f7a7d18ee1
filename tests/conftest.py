"""Shared fixtures: database backends, real server processes, in-process apps."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.support.servers import API_HEADERS, ServerProcess, postgres_database
from trainboard.server.app import create_app
from trainboard.server.settings import Settings

# No background uploader outlives a test's SDK process (sdk/uploader.py): one could send an old run to a later
# test's server on a reused port. tests/integration/test_sdk_background_upload.py turns it on for its processes.
os.environ.setdefault("TRAINBOARD_BACKGROUND_UPLOAD", "0")

#: The longest test files (minutes each on a 2-core machine), handed to the parallel workers first: with
#: ``--dist loadfile`` files go out in collection order, and one of these started last is the run's tail.
LONGEST_FIRST = (  # measured: seconds of one worker's time in a CI run (JUnit report, test-output/)
    "test_schemathesis.py",  # 554
    "test_auth_schemathesis.py",  # 198
    "test_workers.py",  # 175
    "test_rich.py",  # 165
    "test_ranks_torchrun.py",  # 136
    "test_line_index.py",  # 121
    "test_alerts.py",  # 105
    "test_run_and_raw_logs.py",  # 101
    "test_ranks_api.py",  # 101
    "test_import_export.py",  # 92
    "test_cli.py",  # 79
    "test_sdk_delivery.py",  # 72
    "test_sdk_pipeline.py",  # 72
    "test_wide_ids.py",  # 67
    "test_sdk_outage_events.py",  # 67
    "test_dashboard_resume.py",  # 62
    "test_run_metric_parsing.py",  # 61
    "test_bookmarks.py",  # 58
    "test_cli_auth.py",  # 55
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the longest files first (a stable sort: the order inside each file, and of the rest, is kept)."""
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(LONGEST_FIRST)))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """Each test using this runs on SQLite (``None``: the default) and on a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield None
    else:
        with postgres_database() as url:
            yield url


@pytest.fixture
def make_server(tmp_path: Path, db_url: str | None) -> Iterator[Callable[..., ServerProcess]]:
    """Factory: ``make_server(*extra_args)`` starts a real ``trainboard serve`` on a free port."""
    servers: list[ServerProcess] = []

    def make(*extra_args: str, start: bool = True) -> ServerProcess:
        server = ServerProcess(data_dir=tmp_path / f"data{len(servers)}", db_url=db_url, extra_args=list(extra_args))
        servers.append(server)
        return server.start() if start else server

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def server(make_server: Callable[..., ServerProcess]) -> ServerProcess:
    return make_server()


@pytest.fixture
def http(server: ServerProcess) -> Iterator[httpx.Client]:
    """An HTTP client for ``server``."""
    with server.client() as c:
        yield c


@pytest.fixture
def app_settings(tmp_path: Path, db_url: str | None) -> Settings:
    return Settings(data_dir=tmp_path / "appdata", db_url=db_url, serve_ui=False)


@pytest.fixture
def client(app_settings: Settings) -> Iterator[TestClient]:
    """An in-process app (lifespan run) on the current backend."""
    with TestClient(create_app(app_settings), base_url="http://127.0.0.1", headers=API_HEADERS) as c:
        yield c
