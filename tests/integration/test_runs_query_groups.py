"""``GET /api/run-groups`` (issue 25) over HTTP on SQLite and PostgreSQL: a group of 10,000 runs is
aggregated over every one of them (the mean, median, min, max, std and standard error a direct numpy
computation over all the runs gives), with the count of runs behind each point where runs end at
different steps, and clear 422s. The runs are written through the store (tests/support/many_runs.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from tests.support.many_runs import Spec, write
from tests.support.servers import API_HEADERS, postgres_database

from trainboard.server.app import create_app
from trainboard.server.settings import Settings

SPEC = Spec(count=10_000, project="many", seeds=3)


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def client(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    def build(url: str | None) -> Iterator[TestClient]:
        data: Path = tmp_path_factory.mktemp("run_groups")
        app = create_app(Settings(data_dir=data, db_url=url, serve_ui=False))
        with TestClient(app, base_url="http://127.0.0.1", headers=API_HEADERS) as c:
            app.state.trainboard.writer.submit(lambda conn: write(conn, SPEC)).result()
            yield c

    if request.param == "sqlite":
        yield from build(None)
    else:
        with postgres_database() as url:
            yield from build(url)


def _expected(members: list[int]) -> dict[int, np.ndarray]:
    """step -> the loss of every member that logged that step (each step is its own bucket here)."""
    by_step: dict[int, list[float]] = {}
    for i in members:
        for s in range(SPEC.steps_of(i)):
            by_step.setdefault(s, []).append(SPEC.loss(i, s))
    return {s: np.array(v) for s, v in by_step.items()}


def test_group_mean_over_all_ten_thousand_runs(client: TestClient) -> None:
    resp = client.get("/api/run-groups", params={"project": "many", "by": "config.seed", "metric": "loss"})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["runs"] == SPEC.count
    assert body["bucket_width"] == 1
    assert [g["label"] for g in body["groups"]] == ["seed=0", "seed=1", "seed=2"]
    assert set(body["metric_keys"]) == {"acc", "loss"}
    for seed, group in enumerate(body["groups"]):
        members = [i for i in range(SPEC.count) if i % SPEC.seeds == seed]
        assert group["runs"] == len(members) == group["with_metric"]
        assert len(group["members"]) == 200  # listed; the count above is of all of them
        expected = _expected(members)
        series = group["series"]
        assert series["step"] == sorted(expected)
        for k, step in enumerate(series["step"]):
            values = expected[step]
            assert series["count"][k] == len(values)  # runs end at different steps: the count says so
            assert series["mean"][k] == pytest.approx(values.mean(), rel=1e-12)
            assert series["median"][k] == pytest.approx(float(np.median(values)), rel=1e-12)
            assert series["min"][k] == pytest.approx(values.min())
            assert series["max"][k] == pytest.approx(values.max())
            assert series["std"][k] == pytest.approx(values.std(ddof=1), rel=1e-9)
            assert series["sem"][k] == pytest.approx(values.std(ddof=1) / np.sqrt(len(values)), rel=1e-9)
    # the last steps are logged only by the longest runs
    last = body["groups"][0]["series"]
    assert last["count"][-1] < last["count"][0]


def test_buckets_wider_than_a_step_average_each_run_first(client: TestClient) -> None:
    resp = client.get(
        "/api/run-groups",
        params={"project": "many", "by": "config.model", "metric": "loss", "buckets": 3, "filter": "config.lr = 1e-4"},
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    width = body["bucket_width"]
    assert width == 5  # steps 0..13 in at most 3 buckets
    members = [i for i in range(SPEC.count) if i % 4 == 0]  # lr = 1e-4; all of them have model "small"
    assert body["runs"] == len(members)
    [group] = body["groups"]
    assert group["label"] == "model=small"
    for k, start in enumerate(group["series"]["step"]):
        per_run = []
        for i in members:
            own = [SPEC.loss(i, s) for s in range(start, start + width) if s < SPEC.steps_of(i)]
            if own:
                per_run.append(sum(own) / len(own))
        assert group["series"]["count"][k] == len(per_run)
        assert group["series"]["mean"][k] == pytest.approx(float(np.mean(per_run)), rel=1e-12)


def test_mean_over_a_key_and_selected_runs(client: TestClient) -> None:
    ids = [SPEC.run_id(i) for i in range(12)]
    resp = client.get("/api/run-groups", params={"runs": ",".join(ids), "by": "config.seed", "mode": "over"})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["runs"] == 12
    # lr and model vary among the 12 (seed is what the mean is over): one group per (lr, model)
    labels = [g["label"] for g in body["groups"]]
    assert all(label.startswith("lr=") and " model=" in label for label in labels)
    assert sum(g["runs"] for g in body["groups"]) == 12
    assert body["groups"][0]["series"] is None  # no metric asked


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"by": "seed"}, "by"),
        ({"by": "config.seed", "mode": "sideways"}, "mode"),
        ({"by": "config.seed", "filter": "config.lr <"}, "filter"),
        ({"by": "config.seed", "buckets": 0}, "buckets"),
    ],
)
def test_bad_parameters_are_422_naming_the_field(client: TestClient, params: dict[str, str | int], field: str) -> None:
    resp = client.get("/api/run-groups", params=params)
    assert resp.status_code == 422, resp.text
    assert resp.json()["detail"][0]["loc"] == ["query", field]
