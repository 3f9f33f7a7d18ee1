"""Downsampling keeps spikes, NaN and the last point, and a zoomed range is exact."""

from __future__ import annotations

import math

from fastapi.testclient import TestClient


def load(client: TestClient, values: list[float | str]) -> None:
    client.post("/api/runs", json={"id": "ds"})
    for start in range(0, len(values), 5000):
        pts = [{"step": i, "metrics": {"y": v}} for i, v in enumerate(values[start : start + 5000], start)]
        assert client.post("/api/runs/ds/metrics", json={"points": pts}).status_code == 200


def test_spikes_nan_and_last_survive(client: TestClient) -> None:
    values: list[float | str] = [math.sin(i / 50) for i in range(20_000)]
    values[7_777] = 1000.0
    values[12_345] = -1000.0
    values[15_000] = "NaN"
    values[16_000] = "Infinity"
    load(client, values)
    series = client.get("/api/runs/ds/metrics", params={"max_points": 200}).json()["metrics"]["y"]
    assert series["downsampled"] and series["count"] == 20_000
    assert len(series["step"]) <= 200
    got = dict(zip(series["step"], series["value"], strict=True))
    assert got[7_777] == 1000.0 and got[12_345] == -1000.0
    assert got[15_000] == "NaN" and got[16_000] == "Infinity"
    assert series["step"][-1] == 19_999 and series["step"] == sorted(series["step"])


def test_zoomed_range_returns_raw_points(client: TestClient) -> None:
    load(client, [float(i % 97) for i in range(10_000)])
    coarse = client.get("/api/runs/ds/metrics", params={"max_points": 100}).json()["metrics"]["y"]
    assert coarse["downsampled"]
    zoom = client.get("/api/runs/ds/metrics", params={"max_points": 100, "start": 5000, "end": 5049})
    series = zoom.json()["metrics"]["y"]
    assert not series["downsampled"] and series["count"] == 50
    assert series["step"] == list(range(5000, 5050))
    assert series["value"] == [float(i % 97) for i in range(5000, 5050)]


def test_end_before_start_is_an_empty_range(client: TestClient) -> None:
    # The OpenAPI document cannot state "end >= start", so the server accepts it and answers the empty range.
    load(client, [1.0] * 10)
    resp = client.get("/api/runs/ds/metrics", params={"start": 5, "end": 1})
    assert resp.status_code == 200
    assert resp.json()["metrics"]["y"]["step"] == []
