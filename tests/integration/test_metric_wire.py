"""The metric batch codec and ingest in parts, against a real server: the columnar form is documented in the
OpenAPI, refused by location when malformed, deduplicated per stream (metrics and log lines alike), and what
a batch writes reaches the dashboard's watchers once."""

from __future__ import annotations

import json
import math
from typing import Any

import httpx
from tests.support.servers import ServerProcess
from websockets.sync.client import ClientConnection, connect

from trainboard.wire.metric_batch import BlockEncoder, encode_blocks

T0 = 1.7e9


def blocks_body(rows: list[tuple[int, int, dict[str, float]]], stream: str = "s1") -> str:
    enc = BlockEncoder()
    for seq, step, values in rows:
        enc.add(seq, step, T0 + step, values)
    return encode_blocks(stream, enc.take())


def post(http: httpx.Client, body: str) -> httpx.Response:
    return http.post("/api/runs/r/metrics", content=body, headers={"content-type": "application/json"})


def updates(ws: ClientConnection, count: int) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []
    while len(got) < count:
        msg: dict[str, Any] = json.loads(ws.recv(timeout=10))
        if msg["type"] == "metric_update":
            got.append(msg)
    return got


def test_the_openapi_documents_the_columnar_form(http: httpx.Client) -> None:
    op = http.get("/openapi.json").json()["paths"]["/api/runs/{run_id}/metrics"]["post"]
    for words in ('"blocks"', "little-endian int64", "row-major little-endian float64", "`seq0 + i`"):
        assert words in op["description"]


def test_a_block_with_a_text_seq0_is_refused_with_its_location(http: httpx.Client) -> None:
    http.post("/api/runs", json={"id": "r"})
    body = {"stream": "s1", "blocks": [{"keys": ["a"], "seq0": "x", "steps": "", "timestamps": "", "values": ""}]}
    reply = post(http, json.dumps(body))
    assert reply.status_code == 422
    assert [e["loc"] for e in reply.json()["detail"]] == [["body", "blocks", 0, "seq0"]]


def test_resent_rows_are_duplicates_and_watchers_see_each_new_step_once(
    server: ServerProcess, http: httpx.Client
) -> None:
    http.post("/api/runs", json={"id": "r"})
    with connect(server.url.replace("http", "ws") + "/ws") as ws:
        ws.send(json.dumps({"type": "subscribe", "run_id": "r"}))
        while json.loads(ws.recv(timeout=10))["type"] != "subscribed":
            pass
        first = post(http, blocks_body([(1, 0, {"loss": 1.0, "acc": 0.5}), (2, 1, {"loss": math.nan, "acc": 0.6})]))
        assert first.json() == {"accepted": 4, "duplicates": 0, "last_step": 1}
        assert [(u["step"], u["metrics"]) for u in updates(ws, 2)] == [
            (0, {"loss": 1.0, "acc": 0.5}),
            (1, {"loss": "NaN", "acc": 0.6}),
        ]
        # seqs 1 and 2 again (a client that never got the reply), then seq 3: only step 2 is new
        again = post(
            http,
            blocks_body(
                [(1, 0, {"loss": 1.0, "acc": 0.5}), (2, 1, {"loss": math.nan, "acc": 0.6}), (3, 2, {"loss": 0.25})]
            ),
        )
        assert again.json() == {"accepted": 1, "duplicates": 4, "last_step": 2}
        assert [(u["step"], u["metrics"]) for u in updates(ws, 1)] == [(2, {"loss": 0.25})]
    history = http.get("/api/runs/r/metrics").json()["metrics"]
    assert history["loss"]["step"] == [0, 1, 2] and history["loss"]["value"] == [1.0, "NaN", 0.25]
    assert history["acc"]["step"] == [0, 1]


def test_points_without_steps_follow_the_runs_last_step(http: httpx.Client) -> None:
    http.post("/api/runs", json={"id": "r"})
    assert post(http, blocks_body([(1, 41, {"loss": 1.0})])).json()["last_step"] == 41
    body = {"stream": "s2", "points": [{"seq": 1, "metrics": {"loss": 2.0}}, {"seq": 2, "metrics": {"sys/cpu": 3}}]}
    assert post(http, json.dumps(body)).json() == {"accepted": 2, "duplicates": 0, "last_step": 42}
    assert post(http, json.dumps(body)).json() == {"accepted": 0, "duplicates": 2, "last_step": 42}
    assert http.get("/api/runs/r/metrics", params={"keys": "loss"}).json()["metrics"]["loss"]["step"] == [41, 42]


def test_a_resent_log_line_batch_is_stored_once(http: httpx.Client) -> None:
    http.post("/api/runs", json={"id": "r"})
    batch = {"stream": "s1", "lines": [{"message": "epoch 1", "seq": 1}, {"message": "epoch 2", "seq": 2}]}
    for _ in range(2):
        assert http.post("/api/runs/r/logs/batch", json=batch).status_code < 300
    messages = [line["message"] for line in http.get("/api/runs/r/logs/lines").json()["lines"]]
    assert messages.count("epoch 1") == 1 and messages.count("epoch 2") == 1
