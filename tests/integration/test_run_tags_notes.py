"""Tags, notes, rename, archive and delete of runs through the SDK and a real ``trainboard serve``; who may
change them when authentication is on; layouts follow the user."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.support.auth import Seeded, seed
from tests.support.servers import API_HEADERS, ServerProcess

from trainboard import TrainingMonitor

NOTES = "# Best so far\n\n- lr 3e-4\n<script>alert(1)</script>\n"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = ServerProcess(data_dir=tmp_path_factory.mktemp("tags"), db_url=None).start()
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture
def http(server: ServerProcess) -> Iterator[httpx.Client]:
    with server.client() as c:
        yield c


def test_sdk_tags_and_notes_arrive_without_blocking_training(server: ServerProcess, http: httpx.Client) -> None:
    with TrainingMonitor(
        run_name="tagged",
        project="tags",
        config={"lr": 3e-4},
        dashboard_url=server.url,
        data_dir=server.data_dir / "client",
        system_metrics=False,
        capture_output=False,
    ) as mon:
        mon.add_tags("baseline", "seed-1", "sweep")
        mon.add_tags("baseline")  # twice: kept once
        mon.remove_tags("seed-1", "never-added")
        mon.add_tags("bad,tag")  # refused by the server: training goes on, the other tags stay
        mon.notes = NOTES
        assert mon.notes == NOTES
        mon.log_metrics({"val/loss": 0.5}, step=1)
    run = http.get(f"/api/runs/{mon.run_id}").json()
    assert run["status"] == "completed"
    assert run["tags"] == ["baseline", "sweep"]
    assert run["notes"] == NOTES  # stored as written; the UI renders Markdown without raw HTML
    found = http.get("/api/runs", params={"filter": "tags contains sweep and notes ~ 'best so far'"}).json()
    assert [r["id"] for r in found["runs"]] == [mon.run_id]


def test_rename_archive_delete(http: httpx.Client) -> None:
    http.post("/api/runs", json={"id": "victim", "name": "old-name", "project": "life", "config": {"opt": {"m": 0.9}}})
    http.post("/api/runs/victim/metrics", json={"points": [{"step": 0, "metrics": {"only/here": 1.0}}]})
    http.post("/api/runs/victim/tags", json={"add": ["doomed"]})
    assert http.put("/api/runs/victim", json={"name": "new-name"}).json()["name"] == "new-name"
    assert [r["id"] for r in http.get("/api/runs", params={"filter": "name = new-name"}).json()["runs"]] == ["victim"]
    assert http.put("/api/runs/victim", json={"archived": True}).json()["archived"] is True
    assert http.get("/api/runs", params={"project": "life"}).json()["runs"] == []
    assert http.get("/api/runs", params={"project": "life", "filter": "archived = true"}).json()["total"] == 1
    columns = http.get("/api/projects/life/columns").json()
    assert columns == {"config_keys": ["opt.m"], "metric_keys": ["only/here"], "tags": ["doomed"]}
    assert http.delete("/api/runs/victim").status_code == 200
    assert http.get("/api/projects/life/columns").json() == {"config_keys": [], "metric_keys": [], "tags": []}
    assert http.post("/api/runs/victim/tags", json={"add": ["x"]}).status_code == 404


def test_bad_tags_and_notes_are_422_naming_the_field(http: httpx.Client) -> None:
    http.post("/api/runs", json={"id": "strict", "name": "strict"})
    for body, loc in (
        ({"tags": ["has,comma"]}, ["body", "tags", 0]),
        ({"tags": [" padded"]}, ["body", "tags", 0]),
        ({"tags": ["x" * 65]}, ["body", "tags", 0]),
        ({"notes": "n" * 100_001}, ["body", "notes"]),
        ({"archived": "yes"}, ["body", "archived"]),
    ):
        resp = http.put("/api/runs/strict", json=body)
        assert resp.status_code == 422, body
        assert resp.json()["detail"][0]["loc"] == loc
    too_many = http.post("/api/runs/strict/tags", json={"add": [f"t{i}" for i in range(100)]})
    assert too_many.status_code == 200
    over = http.post("/api/runs/strict/tags", json={"add": ["one-more"]})
    assert over.status_code == 422 and "at most 100 tags" in over.json()["detail"][0]["msg"]


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, Seeded]]:
    data: Path = tmp_path_factory.mktemp("guarded")
    seeded = seed(data)
    proc = ServerProcess(data_dir=data, db_url=None).start()
    try:
        yield proc, seeded
    finally:
        proc.stop()


def test_editors_change_tags_notes_and_views_viewers_read(guarded: tuple[ServerProcess, Seeded]) -> None:
    server, seeded = guarded
    with httpx.Client(base_url=server.url, timeout=30.0, headers=API_HEADERS) as c:
        ed, vic, ann = seeded.headers("ed"), seeded.headers("vic"), seeded.headers("ann")
        assert c.post("/api/runs", json={"id": "g1", "name": "g1", "project": "g"}, headers=ed).status_code == 201
        assert c.post("/api/runs/g1/tags", json={"add": ["x"]}, headers=vic).status_code == 403
        assert c.put("/api/runs/g1", json={"notes": "no"}, headers=vic).status_code == 403
        assert c.post("/api/runs/g1/tags", json={"add": ["x"]}, headers=ed).json() == {"tags": ["x"]}
        assert c.put("/api/runs/g1", json={"notes": "yes"}, headers=ed).json()["notes"] == "yes"
        assert c.put("/api/projects/g/views/v", json={"sort": "name"}, headers=vic).status_code == 403
        assert c.put("/api/projects/g/views/v", json={"sort": "name"}, headers=ed).json()["created_by"] == "ed"
        assert [v["name"] for v in c.get("/api/projects/g/views", headers=vic).json()["views"]] == ["v"]
        assert c.get("/api/runs", params={"filter": "tags = x"}, headers=vic).json()["total"] == 1
        assert c.get("/api/runs").status_code == 401
        # a layout is the user's own
        c.put("/api/projects/g/layout", json={"layout": {"who": "ed"}}, headers=ed).raise_for_status()
        assert c.get("/api/projects/g/layout", headers=ed).json()["layout"] == {"who": "ed"}
        assert c.get("/api/projects/g/layout", headers=ann).json()["layout"] is None
