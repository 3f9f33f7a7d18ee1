"""Runs and metrics through the HTTP API of an in-process app, on SQLite and PostgreSQL."""

from __future__ import annotations

from fastapi.testclient import TestClient

from trainboard.wire import MAX_BODY_BYTES


def test_create_is_idempotent_by_id(client: TestClient) -> None:
    first = client.post("/api/runs", json={"id": "run-a", "name": "exp", "config": {"lr": 0.1}})
    assert first.status_code == 201
    again = client.post("/api/runs", json={"id": "run-a", "name": "other"})
    assert again.status_code == 200 and again.json()["name"] == "exp"
    run = client.get("/api/runs/run-a").json()
    assert run["status"] == "running" and run["config"] == {"lr": 0.1} and run["start_time"].endswith("Z")


def test_list_filter_update_delete(client: TestClient) -> None:
    for i, project in enumerate(["p1", "p1", "p2"]):
        client.post("/api/runs", json={"id": f"r{i}", "name": f"n{i}", "project": project})
    assert client.get("/api/runs", params={"project": "p1"}).json()["total"] == 2
    changed = client.put("/api/runs/r0", json={"status": "failed", "exit_code": 3}).json()
    assert changed["status"] == "failed" and changed["exit_code"] == 3 and changed["end_time"]
    assert [r["id"] for r in client.get("/api/runs", params={"status": "failed"}).json()["runs"]] == ["r0"]
    kinds = [e["kind"] for e in client.get("/api/runs/r0/events").json()["events"]]
    # the alert engine (a write-path subscriber) adds its diagnosis of a failed run once it has seen the change
    assert kinds[:2] == ["run_created", "status_change"] and set(kinds[2:]) <= {"diagnosis"}
    client.post("/api/runs/r1/metrics", json={"step": 1, "metrics": {"loss": 1.0}})
    deleted = client.delete("/api/runs/r1").json()
    assert deleted["removed"]["metric_points"] == 1
    assert client.get("/api/runs/r1").status_code == 404
    assert client.get("/api/runs").json()["total"] == 2


def test_unknown_run_is_404_with_detail(client: TestClient) -> None:
    for resp in (
        client.get("/api/runs/nope"),
        client.get("/api/runs/nope/metrics"),
        client.post("/api/runs/nope/metrics", json={"metrics": {"a": 1}}),
        client.put("/api/runs/nope", json={"status": "completed"}),
        client.delete("/api/runs/nope"),
    ):
        assert resp.status_code == 404, resp.text
        assert "nope" in resp.json()["detail"]


def test_validation_errors_name_the_field(client: TestClient) -> None:
    resp = client.post("/api/runs", json={"id": "../../etc", "name": "x"})
    assert resp.status_code == 422 and resp.json()["detail"][0]["loc"] == ["body", "id"]
    resp = client.put("/api/runs/x", json={"status": "exploded"})
    assert resp.status_code == 422 and resp.json()["detail"][0]["loc"] == ["body", "status"]
    client.post("/api/runs", json={"id": "v"})
    resp = client.get("/api/runs/v/metrics", params={"max_points": 1})
    assert resp.status_code == 422 and resp.json()["detail"][0]["loc"] == ["query", "max_points"]
    resp = client.post("/api/runs/v/metrics", json={"points": [{"step": -5, "metrics": {"loss": 1}}]})
    assert resp.status_code == 422
    assert resp.json()["detail"][0]["loc"] == ["body", "points", 0, "step"]


def test_writes_must_be_json(client: TestClient) -> None:
    for ctype, payload in [
        ("application/x-www-form-urlencoded", b"name=x"),
        ("text/plain", b'{"name": "x"}'),
        ("multipart/form-data; boundary=x", b"--x--"),
    ]:
        resp = client.post("/api/runs", content=payload, headers={"content-type": ctype})
        assert resp.status_code == 415, ctype
        assert "application/json" in resp.json()["detail"]
    assert client.get("/api/runs").json()["total"] == 0


def test_body_over_the_limit_is_413(client: TestClient) -> None:
    client.post("/api/runs", json={"id": "big"})
    big = b'{"metrics": {"a": 1}, "pad": "' + b"x" * (MAX_BODY_BYTES + 10) + b'"}'
    resp = client.post("/api/runs/big/metrics", content=big, headers={"content-type": "application/json"})
    assert resp.status_code == 413 and str(MAX_BODY_BYTES) in resp.json()["detail"]


def test_metrics_round_trip_non_finite_and_missing(client: TestClient) -> None:
    client.post("/api/runs", json={"id": "m"})
    points = [
        {"step": 0, "metrics": {"loss": 1.0, "acc": 0.5}},
        {"step": 1, "metrics": {"loss": "NaN"}},
        {"step": 2, "metrics": {"loss": "Infinity"}},
        {"step": 3, "metrics": {"loss": "-Infinity"}},
    ]
    assert client.post("/api/runs/m/metrics", json={"points": points}).json()["accepted"] == 5
    hist = client.get("/api/runs/m/metrics").json()["metrics"]
    assert hist["loss"]["value"] == [1.0, "NaN", "Infinity", "-Infinity"]
    assert hist["acc"]["step"] == [0]  # missing at steps 1-3: absent, not NaN
    latest = client.get("/api/runs/m/metrics/latest").json()["metrics"]
    assert latest["loss"] == {"step": 3, "value": "-Infinity", "timestamp": latest["loss"]["timestamp"]}


def test_step_semantics(client: TestClient) -> None:
    client.post("/api/runs", json={"id": "s"})

    def post(doc: dict[str, object]) -> None:
        assert client.post("/api/runs/s/metrics", json=doc).status_code == 200

    post({"points": [{"metrics": {"x": 1}}, {"metrics": {"x": 2}}]})  # no step: 0, 1
    post({"step": 10, "metrics": {"x": 3}})
    post({"metrics": {"x": 4}})  # auto: last + 1 = 11
    post({"step": 5, "metrics": {"x": 5}})  # decreasing: accepted at 5
    post({"step": 10, "metrics": {"x": 6}})  # repeated: replaces
    series = client.get("/api/runs/s/metrics", params={"keys": "x"}).json()["metrics"]["x"]
    assert series["step"] == [0, 1, 5, 10, 11]
    assert series["value"] == [1.0, 2.0, 5.0, 6.0, 4.0]


def test_sequence_dedupe_makes_resend_a_no_op(client: TestClient) -> None:
    client.post("/api/runs", json={"id": "d"})
    batch = {"stream": "st", "points": [{"seq": i, "step": i, "metrics": {"a": i}} for i in range(1, 6)]}
    assert client.post("/api/runs/d/metrics", json=batch).json()["accepted"] == 5
    again = client.post("/api/runs/d/metrics", json=batch).json()
    assert again["accepted"] == 0 and again["duplicates"] == 5
    overlap = {"stream": "st", "points": [{"seq": i, "step": i, "metrics": {"a": -i}} for i in range(4, 8)]}
    assert client.post("/api/runs/d/metrics", json=overlap).json()["accepted"] == 2
    values = client.get("/api/runs/d/metrics").json()["metrics"]["a"]["value"]
    assert values == [1.0, 2.0, 3.0, 4.0, 5.0, -6.0, -7.0]


def test_health_version_docs(client: TestClient) -> None:
    assert client.get("/health").json()["status"] == "ok"
    assert client.get("/api/version").json()["version"]
    schema = client.get("/openapi.json").json()
    assert "/api/runs/{run_id}/metrics" in schema["paths"]
    assert "NaN" in str(schema["paths"]["/api/runs/{run_id}/metrics"]["post"])
    assert client.get("/docs").status_code == 200


def test_other_host_headers_are_refused_on_loopback(client: TestClient) -> None:
    """A page on another site that rebinds its DNS name to 127.0.0.1 sends its own Host header."""
    assert client.get("/api/runs", headers={"host": "evil.example"}).status_code == 400
    assert client.get("/api/runs", headers={"host": "localhost:8000"}).status_code == 200
