"""The runs query API (issue 14) over HTTP on SQLite and PostgreSQL: the filter language, sorting by metric
summaries and config values, keyset paging over 10,000 runs, summaries kept current at ingest, archive, saved
views, layouts and the column picker's keys. One app per engine (module scope); expectations are computed
from the generated data, never written out."""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import Connection, insert, text
from tests.support.servers import API_HEADERS, ServerProcess, postgres_database

from trainboard.server.app import create_app
from trainboard.server.settings import Settings
from trainboard.server.store.engine import alembic_config, make_engines
from trainboard.server.store.tables import run_config, run_metric_summaries, runs

SMALL = "small"  # the project of the 30 runs made through the API
BULK = "bulk"  # the project of the 10,000 runs written straight into the database
BULK_RUNS = 10_000


@dataclass
class SmallRun:
    id: str
    name: str
    status: str
    config: dict[str, Any]
    losses: list[float] = field(default_factory=list)  # val/loss by step; empty: never logged

    @property
    def last(self) -> float | None:
        return self.losses[-1] if self.losses and not math.isnan(self.losses[-1]) else None

    def extreme(self, fn: Callable[[list[float]], float]) -> float | None:
        finite = [v for v in self.losses if not math.isnan(v)]
        return fn(finite) if finite else None


@dataclass
class World:
    client: TestClient
    small: list[SmallRun]


def _seed_bulk(conn: Connection) -> None:
    now = time.time()
    run_rows, config_rows, summary_rows = [], [], []
    for i in range(BULK_RUNS):
        run_id = f"b{i:05d}"
        run_rows.append(
            {
                "id": run_id,
                "name": f"bulk-{i}",
                "project": BULK,
                "status": "completed",
                "config": f'{{"lr": {1e-4 * (i % 7)}}}',
                "start_time": now - i,
                "created_at": now,
            }
        )
        config_rows.append({"run_id": run_id, "key": "lr", "num": 1e-4 * (i % 7), "text": str(1e-4 * (i % 7))})
        if i % 10 != 3:  # every tenth run has no acc: it sorts last
            value = float(i % 37)  # many ties
            summary_rows.append(
                {
                    "run_id": run_id,
                    "key": "acc",
                    "last_step": 9,
                    "last_val": value,
                    "min_val": 0.0,
                    "max_val": value,
                    "n": 10,
                }
            )
    conn.execute(insert(runs), run_rows)
    conn.execute(insert(run_config), config_rows)
    conn.execute(insert(run_metric_summaries), summary_rows)


def _make_small(client: TestClient) -> list[SmallRun]:
    rng = random.Random(14)
    made: list[SmallRun] = []
    for i in range(30):
        config = {"lr": 10.0 ** -(1 + i % 5), "seed": i % 3, "optimizer": {"name": "adam" if i % 2 else "sgd"}}
        run = SmallRun(f"s{i:02d}", f"cifar-{i}", ["completed", "failed", "running"][i % 3], config)
        assert (
            client.post(
                "/api/runs", json={"id": run.id, "name": run.name, "project": SMALL, "config": config}
            ).status_code
            == 201
        )
        if i % 6 != 5:
            run.losses = [round(rng.uniform(0.05, 1.0), 4) for _ in range(8)]
            if i == 7:
                run.losses[-1] = math.nan  # diverged: no last value
            points = [
                {"step": s, "metrics": {"val/loss": "NaN" if math.isnan(v) else v}} for s, v in enumerate(run.losses)
            ]
            assert client.post(f"/api/runs/{run.id}/metrics", json={"points": points}).status_code < 300
        if run.status != "running":
            assert client.put(f"/api/runs/{run.id}", json={"status": run.status}).status_code == 200
        made.append(run)
    return made


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    def build(url: str | None) -> Iterator[World]:
        data: Path = tmp_path_factory.mktemp("runs_query")
        app = create_app(Settings(data_dir=data, db_url=url, serve_ui=False))
        with TestClient(app, base_url="http://127.0.0.1", headers=API_HEADERS) as client:
            app.state.trainboard.writer.submit(_seed_bulk).result()
            yield World(client, _make_small(client))

    if request.param == "sqlite":
        yield from build(None)
    else:
        with postgres_database() as url:
            yield from build(url)


def ids(world: World, **params: Any) -> list[str]:
    resp = world.client.get("/api/runs", params={"project": SMALL, "limit": 1000, **params})
    assert resp.status_code == 200, resp.text
    return [r["id"] for r in resp.json()["runs"]]


def expect(world: World, pred: Callable[[SmallRun], bool]) -> set[str]:
    return {r.id for r in world.small if pred(r)}


@pytest.mark.parametrize(
    ("text", "pred"),
    [
        ("config.lr < 1e-3 and status = failed", lambda r: r.config["lr"] < 1e-3 and r.status == "failed"),
        ("val/loss < 0.5", lambda r: r.last is not None and r.last < 0.5),
        ("not val/loss < 0.5", lambda r: not (r.last is not None and r.last < 0.5)),
        (
            "val/loss.min <= 0.2 or config.optimizer.name = adam",
            lambda r: (r.extreme(min) or 9) <= 0.2 or r.config["optimizer"]["name"] == "adam",
        ),
        (
            "val/loss.max > 0.9 and (seed = 1 or config.seed = 2)",
            lambda r: (r.extreme(max) or 0) > 0.9 and r.config["seed"] == 2,
        ),
        (
            "status in (failed, running) and name ~ 'CIFAR-1'",
            lambda r: r.status in ("failed", "running") and "cifar-1" in r.name,
        ),
        ("config.seed != 0", lambda r: r.config["seed"] != 0),
        ("config.missing != 1", lambda r: True),
        ("val/loss.count = 8", lambda r: len(r.losses) == 8),
        ("duration >= 0 and end_time > 2000-01-01", lambda r: r.status != "running"),
        ("exit_code != 3", lambda r: True),
    ],
)
def test_filters_match_the_runs_the_expression_describes(
    world: World, text: str, pred: Callable[[SmallRun], bool]
) -> None:
    assert set(ids(world, filter=text)) == expect(world, pred)


def _order(world: World, key: Callable[[SmallRun], float | None], descending: bool) -> list[str]:
    present = [r for r in world.small if key(r) is not None]
    missing = sorted(r.id for r in world.small if key(r) is None)
    present.sort(key=lambda r: r.id)
    present.sort(key=lambda r: key(r) or 0.0, reverse=descending)
    if descending:  # ties stay in id order
        present.sort(key=lambda r: (-(key(r) or 0.0), r.id))
    return [r.id for r in present] + missing


@pytest.mark.parametrize(
    ("sort", "key", "descending"),
    [
        ("val/loss", lambda r: r.last, False),
        ("-val/loss", lambda r: r.last, True),
        ("val/loss.min", lambda r: r.extreme(min), False),
        ("-val/loss.max", lambda r: r.extreme(max), True),
        ("config.lr", lambda r: r.config["lr"], False),
        ("-config.seed", lambda r: r.config["seed"], True),
    ],
)
def test_sorts_by_summaries_and_config_with_missing_last(
    world: World, sort: str, key: Callable[[SmallRun], float | None], descending: bool
) -> None:
    assert ids(world, sort=sort) == _order(world, key, descending)


def test_runs_carry_the_summaries_asked_for(world: World) -> None:
    body = world.client.get("/api/runs", params={"project": SMALL, "limit": 1000, "summary": "val/loss"}).json()
    by_id = {r.id: r for r in world.small}
    for run in body["runs"]:
        small = by_id[run["id"]]
        if not small.losses:
            assert run["summary"] == {}
            continue
        summary = run["summary"]["val/loss"]
        assert summary == {
            "last": small.last,
            "min": small.extreme(min),
            "max": small.extreme(max),
            "count": 8,
            "step": 7,
        }


def test_summaries_follow_a_rewrite_of_earlier_steps(world: World) -> None:
    c = world.client
    assert c.post("/api/runs", json={"id": "rewrite", "project": "rewrite"}).status_code == 201
    c.post(
        "/api/runs/rewrite/metrics", json={"points": [{"step": s, "metrics": {"loss": 10.0 - s}} for s in range(10)]}
    )
    # a resumed run re-logs steps 5..9 (last write wins): the old minimum 1.0 at step 9 is gone
    c.post(
        "/api/runs/rewrite/metrics", json={"points": [{"step": s, "metrics": {"loss": 20.0 + s}} for s in range(5, 9)]}
    )
    c.post("/api/runs/rewrite/metrics", json={"points": [{"step": 9, "metrics": {"loss": "Infinity"}}]})
    run = c.get("/api/runs", params={"project": "rewrite", "summary": "*"}).json()["runs"][0]
    assert run["summary"]["loss"] == {"last": "Infinity", "min": 6.0, "max": "Infinity", "count": 10, "step": 9}


@pytest.mark.parametrize(
    ("params", "param", "position", "words"),
    [
        ({"filter": "config.lr < 1e-3 and"}, "filter", 20, "expected a field name"),
        ({"filter": "status = failde"}, "filter", 9, "status is one of"),
        ({"filter": "val/loss < low"}, "filter", 11, "compares with numbers"),
        ({"filter": "start_time > yesterday"}, "filter", 13, "ISO 8601"),
        ({"filter": "tags < 3"}, "filter", 7, "tags take"),
        ({"filter": "(a = 1"}, "filter", 6, "expected ')'"),
        ({"filter": "name = 'a\x00b'"}, "filter", 9, "NUL characters"),
        ({"sort": "config.\x00"}, "sort", 7, "NUL characters"),
        ({"sort": "-"}, "sort", 1, "expected a field"),
        ({"sort": "tags"}, "sort", 0, "cannot be sorted by tags"),
        ({"cursor": "Z2FyYmFnZQ"}, "cursor", 0, "not a cursor"),
    ],
)
def test_bad_queries_are_422_naming_parameter_and_position(
    world: World, params: dict[str, str], param: str, position: int, words: str
) -> None:
    resp = world.client.get("/api/runs", params=params)
    assert resp.status_code == 422
    (error,) = resp.json()["detail"]
    assert error["loc"] == ["query", param]
    assert error["ctx"]["position"] == position
    assert words in error["msg"] and f"position {position}" in error["msg"]


def test_a_cursor_belongs_to_its_sort(world: World) -> None:
    first = world.client.get("/api/runs", params={"project": BULK, "sort": "acc", "limit": 5}).json()
    resp = world.client.get("/api/runs", params={"project": BULK, "sort": "-acc", "cursor": first["next_cursor"]})
    assert resp.status_code == 422 and "start again without a cursor" in resp.json()["detail"][0]["msg"]
    other_filter = {"project": BULK, "sort": "acc", "filter": "acc > 3", "cursor": first["next_cursor"]}
    resp = world.client.get("/api/runs", params=other_filter)
    assert resp.status_code == 422 and "another filter" in resp.json()["detail"][0]["msg"]


def _bulk_expected(descending: bool, where: Callable[[int], bool] = lambda i: True) -> list[str]:
    present = [i for i in range(BULK_RUNS) if i % 10 != 3 and where(i)]
    missing = [i for i in range(BULK_RUNS) if i % 10 == 3 and where(i)]
    present.sort(key=lambda i: (-(i % 37) if descending else i % 37, f"b{i:05d}"))
    return [f"b{i:05d}" for i in present + sorted(missing, key=lambda i: f"b{i:05d}")]


@pytest.mark.parametrize(
    ("sort", "filter_text", "descending", "where"),
    [
        ("acc", "", False, lambda i: True),
        ("-acc", "", True, lambda i: True),
        (
            "-acc",
            "config.lr >= 3e-4 and acc.max > 5",
            True,
            lambda i: 1e-4 * (i % 7) >= 3e-4 and i % 10 != 3 and i % 37 > 5,
        ),
    ],
)
def test_cursor_paging_over_10000_runs_is_stable_under_ties(
    world: World, sort: str, filter_text: str, descending: bool, where: Callable[[int], bool]
) -> None:
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"project": BULK, "sort": sort, "limit": 1000, "filter": filter_text}
        if cursor:
            params["cursor"] = cursor
        body = world.client.get("/api/runs", params=params).json()
        seen += [r["id"] for r in body["runs"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    expected = _bulk_expected(descending, where)
    assert body["total"] == len(expected)
    assert seen == expected
    assert pages == math.ceil(len(expected) / 1000)


def test_archived_runs_are_hidden_unless_the_filter_asks(world: World) -> None:
    c = world.client
    assert c.put("/api/runs/s00", json={"archived": True}).json()["archived"] is True
    try:
        assert "s00" not in ids(world)
        assert ids(world, filter="archived = true") == ["s00"]
        assert "s00" in ids(world, filter="archived = true or archived = false")
        assert c.get("/api/runs/s00").json()["archived"] is True
    finally:
        c.put("/api/runs/s00", json={"archived": False})
    assert "s00" in ids(world)


def test_tags_filter_and_picker(world: World) -> None:
    c = world.client
    assert c.post("/api/runs/s01/tags", json={"add": ["baseline", "sweep-a"]}).json() == {
        "tags": ["baseline", "sweep-a"]
    }
    assert c.put("/api/runs/s02", json={"tags": ["sweep-b"]}).json()["tags"] == ["sweep-b"]
    assert set(ids(world, filter="tags contains baseline")) == {"s01"}
    assert set(ids(world, filter="tags ~ sweep")) == {"s01", "s02"}
    assert set(ids(world, filter="tags in (sweep-b, nope)")) == {"s02"}
    assert "s01" not in ids(world, filter="tags != baseline")
    columns = c.get(f"/api/projects/{SMALL}/columns").json()
    assert columns["config_keys"] == ["lr", "optimizer.name", "seed"]
    assert columns["metric_keys"] == ["val/loss"]
    assert columns["tags"] == ["baseline", "sweep-a", "sweep-b"]
    projects = {p["name"]: p["runs"] for p in c.get("/api/projects").json()["projects"]}
    assert projects[SMALL] == 30 and projects[BULK] == BULK_RUNS


def test_saved_views_round_trip_and_validation(world: World) -> None:
    c = world.client
    view = {"filter": "val/loss < 0.3", "sort": "-val/loss.min", "columns": ["name", {"key": "config.lr", "width": 90}]}
    assert c.put(f"/api/projects/{SMALL}/views/best runs", json=view).status_code == 201
    assert c.put(f"/api/projects/{SMALL}/views/best runs", json={**view, "sort": "name"}).status_code == 200
    (saved,) = c.get(f"/api/projects/{SMALL}/views").json()["views"]
    assert saved["name"] == "best runs" and saved["sort"] == "name" and saved["columns"] == view["columns"]
    bad = c.put(f"/api/projects/{SMALL}/views/x", json={"filter": "val/loss <"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "filter"]
    assert "position 10" in bad.json()["detail"][0]["msg"]
    huge = c.put(f"/api/projects/{SMALL}/views/x", json={"columns": ["c" * 1000] * 100})
    assert huge.status_code == 422 and "bytes" in huge.json()["detail"][0]["msg"]
    assert c.delete(f"/api/projects/{SMALL}/views/best runs").status_code == 204
    assert c.delete(f"/api/projects/{SMALL}/views/best runs").status_code == 404
    assert c.get(f"/api/projects/{SMALL}/views").json()["views"] == []


def test_layout_is_saved_per_project(world: World) -> None:
    c = world.client
    assert c.get(f"/api/projects/{SMALL}/layout").json() == {"layout": None, "updated_at": None}
    layout = {"panels": {"logs": {"size": 240, "collapsed": True}}, "pinned": ["val/loss"]}
    assert c.put(f"/api/projects/{SMALL}/layout", json={"layout": layout}).json()["layout"] == layout
    assert c.get(f"/api/projects/{SMALL}/layout").json()["layout"] == layout
    assert c.get(f"/api/projects/{BULK}/layout").json()["layout"] is None
    too_big = c.put(f"/api/projects/{SMALL}/layout", json={"layout": {"x": "y" * 70_000}})
    assert too_big.status_code == 422
    assert c.put(f"/api/projects/{SMALL}/layout", json={"layout": [1]}).status_code == 422


def test_runs_stored_before_0006_are_queryable_after_the_upgrade(
    make_server: Callable[..., ServerProcess], db_url: str | None
) -> None:
    """A database at revision 0005 (configs as JSON text, points as raw segments, one step rewritten) gets its
    flattened configs and metric summaries from migration 0006."""
    server = make_server(start=False)
    engines = make_engines(Settings(data_dir=server.data_dir, db_url=db_url))
    cfg = alembic_config()
    with engines.writer.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0005")
        for run_id, lr, losses in (("old-a", 0.1, [3.0, 1.0, 2.0]), ("old-b", 0.01, [0.5, float("nan")])):
            conn.execute(
                text(
                    "INSERT INTO runs (id, name, project, status, config, start_time, created_at) "
                    "VALUES (:id, :id, 'legacy', 'completed', :config, 1, 1)"
                ),
                {"id": run_id, "config": json.dumps({"lr": lr, "opt": {"name": "adam"}})},
            )
            sid = conn.execute(
                text("INSERT INTO series (run_id, key, max_step) VALUES (:id, 'loss', :top) RETURNING id"),
                {"id": run_id, "top": len(losses) - 1},
            ).scalar_one()
            steps = np.arange(len(losses), dtype="<i8")
            segments = [(steps, np.array(losses, "<f8"))]
            if run_id == "old-a":  # step 1 rewritten later: 1.0 -> 5.0 (the later segment wins)
                segments.append((np.array([1], "<i8"), np.array([5.0], "<f8")))
            for st, va in segments:
                conn.execute(
                    text(
                        "INSERT INTO metric_segments (series_id, first_step, last_step, n, steps, vals, times) "
                        "VALUES (:sid, :first, :last, :n, :steps, :vals, :times)"
                    ),
                    {
                        "sid": sid,
                        "first": int(st[0]),
                        "last": int(st[-1]),
                        "n": len(st),
                        "steps": st.tobytes(),
                        "vals": va.tobytes(),
                        "times": np.zeros(len(st), "<f8").tobytes(),
                    },
                )
    engines.dispose()
    server.start()  # migrates to head
    with server.client() as http:
        body = http.get("/api/runs", params={"project": "legacy", "sort": "loss.max", "summary": "*"}).json()
        assert [r["id"] for r in body["runs"]] == ["old-b", "old-a"]
        summaries = {r["id"]: r["summary"]["loss"] for r in body["runs"]}
        assert summaries["old-a"] == {"last": 2.0, "min": 2.0, "max": 5.0, "count": 3, "step": 2}
        assert summaries["old-b"] == {"last": None, "min": 0.5, "max": 0.5, "count": 2, "step": 1}
        assert [r["id"] for r in http.get("/api/runs", params={"filter": "config.lr < 0.05"}).json()["runs"]] == [
            "old-b"
        ]
        columns = http.get("/api/projects/legacy/columns").json()
        assert columns == {"config_keys": ["lr", "opt.name"], "metric_keys": ["loss"], "tags": []}


def test_odd_configs_are_stored_and_queryable(world: World) -> None:
    """A NUL in a config string (PostgreSQL text cannot hold it) and a dotted key that collides with a nested one."""
    c = world.client
    config = {"s": "x\u0000y", "a.b": 1, "a": {"b": 2}, "deep": {"list": [1, 2]}}
    made = c.post("/api/runs", json={"id": "odd", "project": "odd", "config": config})
    assert made.status_code == 201 and made.json()["config"] == config
    assert [r["id"] for r in c.get("/api/runs", params={"filter": "config.a.b = 1"}).json()["runs"]] == ["odd"]
    assert [r["id"] for r in c.get("/api/runs", params={"filter": "config.s ~ x"}).json()["runs"]] == ["odd"]
    assert c.get("/api/projects/odd/columns").json()["config_keys"] == ["a.b", "deep.list", "s"]


def test_paging_by_long_text_values(world: World) -> None:
    """A text sort value too long for a cursor is read back from the run the page ended at."""
    c = world.client
    for i in range(7):
        desc = "d" * 300 + str(i % 3)  # ties among long values
        assert (
            c.post("/api/runs", json={"id": f"long{i}", "project": "long", "config": {"desc": desc}}).status_code == 201
        )
    seen: list[str] = []
    params: dict[str, Any] = {"project": "long", "sort": "-config.desc", "limit": 2}
    while True:
        page = c.get("/api/runs", params=params).json()
        seen += [r["id"] for r in page["runs"]]
        if page["next_cursor"] is None:
            break
        assert len(page["next_cursor"]) < 300
        params["cursor"] = page["next_cursor"]
    assert seen == sorted((f"long{i}" for i in range(7)), key=lambda rid: (-(int(rid[4:]) % 3), rid))
