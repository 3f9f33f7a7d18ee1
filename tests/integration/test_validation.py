"""Validate at the edge, store nothing that cannot be served: the class tests, against a real ``trainboard
serve``, driven by the server's own OpenAPI document (every integer parameter, every JSON-body field), so a
route added later is covered without editing this file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from tests.support.servers import ServerProcess

HEADERS = {"X-Trainboard": "1"}
JSON_HEADERS = {**HEADERS, "content-type": "application/json"}

#: Marker replaced by the JSON number 1e999 (which a JSON parser reads as infinity) after encoding.
INF = "__1e999__"
#: A lone surrogate: valid JSON (an escape), not valid Unicode text.
LONE = "\udc00"


def _deep(levels: int) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    cur = doc
    for _ in range(levels):
        cur["x"] = {}
        cur = cur["x"]
    return doc


def encode(body: Any) -> bytes:
    """JSON with lone surrogates as escapes (ensure_ascii) and ``INF`` as the number 1e999."""
    return json.dumps(body).replace(f'"{INF}"', "1e999").encode()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = ServerProcess(data_dir=tmp_path_factory.mktemp("validation") / "data", db_url=None).start()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def http(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30.0, headers=HEADERS) as client:
        yield client


@pytest.fixture(scope="module")
def ids(http: httpx.Client) -> dict[str, str]:
    """A run and a checkpoint to fill path parameters with."""
    assert http.post("/api/runs", json={"id": "subject", "name": "subject"}).status_code in (200, 201)
    ckpt = http.post("/api/runs/subject/checkpoints", json={"id": "ck-subject", "path": "/tmp/nowhere.pt"})
    assert ckpt.status_code in (200, 201), ckpt.text
    rule = http.post("/api/alert-rules", json={"name": "subject", "project": "p", "condition": {"kind": "nan"}})
    assert rule.status_code == 201, rule.text
    # users and tokens need no subject: with authentication off those routes answer before looking one up
    return {
        "run_id": "subject",
        "checkpoint_id": "ck-subject",
        "name": "nobody",
        "token_id": "1",
        "project": "p",
        "rule_id": str(rule.json()["id"]),
        "key": "weights",
        "rank": "1",
    }


@pytest.fixture(scope="module")
def openapi(http: httpx.Client) -> dict[str, Any]:
    doc: dict[str, Any] = http.get("/openapi.json").json()
    return doc


def resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with ``$ref`` followed and a nullable ``anyOf`` reduced to its non-null branch."""
    while "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    branches = [b for b in schema.get("anyOf", []) if b.get("type") != "null"]
    if branches and all("$ref" in b or "type" in b for b in branches):
        merged = {**schema, **resolve(doc, branches[0])}
        merged.pop("anyOf", None)
        return merged
    return schema


def types_of(doc: dict[str, Any], schema: dict[str, Any]) -> set[str]:
    while "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    found = {schema["type"]} if isinstance(schema.get("type"), str) else set(schema.get("type", []))
    for branch in schema.get("anyOf", []):
        found |= types_of(doc, branch)
    return found - {"null"}


def operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in doc["paths"].items():
        for method, op in item.items():
            yield method.upper(), path, op


def fill(path: str, ids: dict[str, str]) -> str:
    return path.format(**ids)


def assert_names(resp: httpx.Response, loc: list[Any], what: str) -> None:
    assert resp.status_code == 422, f"{what}: {resp.status_code} {resp.text[:500]}"
    detail = resp.json()["detail"]
    locs = [d["loc"][: len(loc)] for d in detail]
    assert loc in locs, f"{what}: no error at {loc}: {detail}"
    assert len(resp.content) < 8192, f"{what}: the 422 echoes too much ({len(resp.content)} bytes)"


# -- every integer (and number) parameter ---------------------------------------------------------------------


def test_every_numeric_parameter_refuses_out_of_range_values(
    http: httpx.Client, openapi: dict[str, Any], ids: dict[str, str]
) -> None:
    checked = 0
    for method, path, op in operations(openapi):
        if method != "GET":
            continue
        for param in op.get("parameters", []):
            if param["in"] not in ("query", "header"):
                continue
            kinds = types_of(openapi, param["schema"])
            if not kinds & {"integer", "number"}:
                continue
            schema = resolve(openapi, param["schema"])
            bad = [str(2**64), str(10**30), "1e999", "nan"]
            if "minimum" in schema:
                bad.append(str(int(schema["minimum"]) - 1))
            for value in bad:
                if "number" in kinds and value in ("1e999",):
                    continue  # a number parameter reads 1e999 as out of range too; covered by 10**30
                kwargs: dict[str, Any] = (
                    {"params": {param["name"]: value}}
                    if param["in"] == "query"
                    else {"headers": {**HEADERS, param["name"]: value}}
                )
                resp = http.get(fill(path, ids), **kwargs)
                assert_names(resp, [param["in"], param["name"]], f"{method} {path} {param['name']}={value}")
                checked += 1
    # the header the SSE reconnect sends (declared as a pattern-checked string)
    resp = http.get(f"/api/runs/{ids['run_id']}/logs/stream", headers={**HEADERS, "Last-Event-ID": str(10**29)})
    assert_names(resp, ["header", "Last-Event-ID"], "Last-Event-ID 10**29")
    assert checked >= 60, checked  # ~17 numeric parameters x 4-5 values: the document really was walked


# -- every JSON-body field -------------------------------------------------------------------------------------

#: A valid body per operation (the base each bad field is put into).
BASES: dict[str, dict[str, Any]] = {
    "POST /api/auth/login": {"username": "u", "password": "p"},
    "POST /api/auth/exchange": {"code": "c"},
    "POST /api/tokens": {"name": "t", "scope": "read", "expires_in_days": 1, "run_id": "subject"},
    "POST /api/users": {"name": "u", "role": "viewer", "password": "a long password"},
    "PUT /api/users/{name}": {"role": "viewer", "password": "a long password", "disabled": False},
    "POST /api/runs": {"id": "base-run", "name": "n", "project": "p", "config": {"a": 1}},
    "PUT /api/runs/{run_id}": {
        "name": "n",
        "config": {"a": 1},
        "exit_code": 0,
        "reason": "r",
        "notes": "n",
        "archived": False,
    },
    "POST /api/runs/{run_id}/tags": {"add": ["a"], "remove": ["b"]},
    "PUT /api/projects/{project}/views/{name}": {"filter": "a = 1", "sort": "name", "columns": ["name"]},
    "PUT /api/projects/{project}/layout": {"layout": {"a": 1}},
    "POST /api/runs/{run_id}/metrics": {"points": [{"seq": 1, "step": 1, "timestamp": 1.7e9, "metrics": {"a": 1.0}}]},
    "POST /api/runs/{run_id}/logs/raw": {"chunks": [{"seq": 1, "source": "stdout", "time": 1.7e9, "data": "aGk="}]},
    "POST /api/runs/{run_id}/logs": {"message": "m", "logger": "l", "timestamp": 1.7e9, "seq": 1},
    "POST /api/runs/{run_id}/logs/batch": {"stream": "s1", "lines": [{"message": "m", "timestamp": 1.7e9, "seq": 1}]},
    "POST /api/runs/{run_id}/checkpoints": {
        "id": "base-ck",
        "path": "/tmp/x.pt",
        "step": 1,
        "size": 1,
        "metrics": {"loss": 1.0},
        "metadata": {"epoch": 1},
        "invalid_reason": "r",
        "best_metric": "loss",
    },
    "POST /api/runs/{run_id}/events": {
        "id": "outage-1",
        "kind": "server_unreachable",
        "message": "m",
        "since": 1.7e9,
        "until": 1.7e9 + 5,
        "records": 1,
        "bytes": 1,
    },
    "POST /api/runs/{run_id}/alerts": {"id": "client-1", "title": "t", "text": "x", "level": "warning"},
    "POST /api/runs/{run_id}/bookmarks": {"offset": 0, "time": 1.7e9, "note": "n"},
    "PUT /api/runs/{run_id}/ranks/{rank}": {
        "local_rank": 1,
        "node": "n0",
        "node_rank": 0,
        "world_size": 4,
        "pid": 1,
        "gpus": [1],
        "launcher": "torchrun",
        "exit_code": 0,
        "ended_at": 1.7e9,
        "error": "e",
    },
    "POST /api/alert-rules": {
        "name": "r",
        "project": "p",
        "condition": {"kind": "nan", "key": "loss"},
        "for_seconds": 0,
        "repeat_seconds": 60,
        "channels": [],
        "enabled": True,
    },
    "POST /api/alert-rules/defaults": {"project": "p", "channels": [], "kinds": ["nan"]},
    "PATCH /api/alert-rules/{rule_id}": {
        "name": "r",
        "enabled": True,
        "mute_seconds": 0,
        "for_seconds": 0,
        "repeat_seconds": 60,
    },
    "PUT /api/projects/{project}/budget": {"usd": 10.0},
    "POST /api/runs/{run_id}/rich": {
        "values": [
            {
                "key": "weights",
                "step": 1,
                "kind": "histogram",
                "time": 1.7e9,
                "caption": "c",
                "truncated": "t",
                "histogram": {"bin_edges": [0.0, 1.0], "counts": [2.0], "nonfinite": 0},
            }
        ]
    },
}


#: With authentication off (this server) a valid body to these routes is answered, not refused as invalid:
#: no user to log in as, no first user through the API (``trainboard user add``), no user ``nobody``.
VALID_BODY_ANSWERS: dict[str, tuple[int, ...]] = {
    "POST /api/auth/login": (401,),
    "POST /api/auth/exchange": (401,),
    "POST /api/users": (409,),
    "PUT /api/users/{name}": (404,),
}


def bad_values(kinds: set[str], schema: dict[str, Any]) -> list[tuple[str, Any]]:
    if "string" in kinds:
        # a NUL: valid Unicode, but PostgreSQL's text cannot hold it (a run named "b\x00" was a 500 there)
        return [("lone surrogate", LONE + "x"), ("a NUL", "b\x00"), ("a number for a string", 5)]
    if "integer" in kinds:
        return [("2**64", 2**64), ("true", True), ("3.5", 3.5), ("1e999", INF)]
    if "number" in kinds:
        return [("1e999", INF), ("true", True), ("a string", "1.0"), ("1e300", 1e300)]
    if "object" in kinds:
        return [("a lone surrogate inside", {"a": LONE}), ("300 levels deep", _deep(300)), ("a key", {LONE: 1})]
    if "boolean" in kinds:
        return [("1 for a boolean", 1), ("a string", "true")]
    return []


def fields(
    doc: dict[str, Any], schema: dict[str, Any], prefix: list[Any]
) -> Iterator[tuple[list[Any], dict[str, Any]]]:
    """(path, schema) of every property, one level into arrays of objects."""
    schema = resolve(doc, schema)
    for name, sub in schema.get("properties", {}).items():
        subschema = resolve(doc, sub)
        if "array" in types_of(doc, sub):
            items = resolve(doc, subschema.get("items", {}))
            if "properties" in items:
                yield from fields(doc, items, [*prefix, name, 0])
                continue
        yield [*prefix, name], sub


def put(body: Any, path: list[Any], value: Any) -> Any:
    body = json.loads(json.dumps(body))
    target = body
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return body


def test_every_body_field_refuses_unservable_values(
    http: httpx.Client, openapi: dict[str, Any], ids: dict[str, str]
) -> None:
    checked = 0
    body_ops = [(m, p, op) for m, p, op in operations(openapi) if "requestBody" in op]
    assert {f"{m} {p}" for m, p, _ in body_ops} <= set(BASES) | {"POST /api/launch"}, "a new body: add a base"
    for method, path, op in body_ops:
        key = f"{method} {path}"
        if key not in BASES:
            continue
        schema = op["requestBody"]["content"]["application/json"]["schema"]
        schema = schema["anyOf"][0] if "anyOf" in schema else schema
        for field_path, sub in fields(openapi, schema, []):
            try:
                base = put(BASES[key], field_path, None)
            except (KeyError, IndexError):
                base = put(BASES[key], field_path[:-1], {}) if len(field_path) > 1 else BASES[key]
            for what, value in bad_values(types_of(openapi, sub), resolve(openapi, sub)):
                resp = http.request(
                    method, fill(path, ids), content=encode(put(base, field_path, value)), headers=JSON_HEADERS
                )
                assert_names(resp, ["body", *field_path], f"{key} {field_path} = {what}")
                checked += 1
        ok = http.request(method, fill(path, ids), content=encode(BASES[key]), headers=JSON_HEADERS)
        assert ok.status_code in VALID_BODY_ANSWERS.get(key, (200, 201)), (
            f"{key} base body: {ok.status_code} {ok.text[:300]}"
        )
    assert checked >= 80, checked
    # nothing stored that cannot be served: every list still answers, and none shows a bad value
    for url in (
        "/api/runs",
        "/api/runs/subject/events",
        "/api/runs/subject/checkpoints",
        "/api/runs/subject/logs/lines",
    ):
        resp = http.get(url, params={"limit": 1000} if url == "/api/runs" else None)
        assert resp.status_code == 200, (url, resp.text[:300])
        assert "\\udc00" not in resp.text, url


def test_bare_and_malformed_bodies_are_422_everywhere(
    http: httpx.Client, openapi: dict[str, Any], ids: dict[str, str]
) -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    for method, path, op in operations(openapi):
        if "requestBody" not in op or path == "/api/launch":
            continue
        for raw in (b"1e999", b"[]", b'"\\udc00"', b"NaN", deep, b'{"a": 1', b"\xff\xfe"):
            resp = http.request(method, fill(path, ids), content=raw, headers=JSON_HEADERS)
            assert resp.status_code == 422, f"{method} {path} {raw[:20]!r}: {resp.status_code} {resp.text[:300]}"
            assert resp.headers["content-type"].startswith("application/json")
            assert len(resp.content) < 8192


# -- the specific rules --------------------------------------------------------------------------------------


def test_times_have_a_documented_range_and_epoch_zero_is_not_now(http: httpx.Client, ids: dict[str, str]) -> None:
    for start in (0, "1970-01-01T00:00:00Z", "9999-01-01T00:00:00Z", 1.7e9, True):
        assert_names(http.post("/api/runs", json={"start_time": start}), ["body", "start_time"], f"start {start}")
    made = http.post("/api/runs", json={"id": "dated", "start_time": "2001-02-03T04:05:06Z"})
    assert made.status_code == 201 and made.json()["start_time"] == "2001-02-03T04:05:06Z"
    run = ids["run_id"]
    for ts in (0, 1e13, 1e300, True, -1):
        line = http.post(f"/api/runs/{run}/logs", json={"message": "m", "timestamp": ts})
        assert_names(line, ["body", "timestamp"], f"line timestamp {ts}")
        chunk = {"chunks": [{"source": "stdout", "data": "aGk=", "time": ts}]}
        assert_names(http.post(f"/api/runs/{run}/logs/raw", json=chunk), ["body", "chunks", 0, "time"], f"time {ts}")
        point = {"points": [{"timestamp": ts, "metrics": {"a": 1}}]}
        assert_names(
            http.post(f"/api/runs/{run}/metrics", json=point), ["body", "points", 0, "timestamp"], f"point {ts}"
        )
    for fmt in ("txt", "csv", "json"):
        assert http.get(f"/api/runs/{run}/logs/download", params={"format": fmt}).status_code == 200


def test_json_documents_have_limits_and_nan_travels_as_its_token(http: httpx.Client) -> None:
    for config in ({"a": LONE}, {LONE: 1}, _deep(33), {"big": "x" * (1024 * 1024 + 1)}):
        resp = http.post("/api/runs", content=encode({"config": config}), headers=JSON_HEADERS)
        assert_names(resp, ["body", "config"], f"config {str(config)[:40]}")
    assert http.post("/api/runs", json={"id": "deep-ok", "config": _deep(31)}).status_code == 201
    raw = b'{"id": "nan-run", "config": {"lr": NaN, "hi": Infinity, "lo": -Infinity, "s": "NaN"}}'
    made = http.post("/api/runs", content=raw, headers=JSON_HEADERS)
    assert made.status_code == 201, made.text
    expected = {"lr": "NaN", "hi": "Infinity", "lo": "-Infinity", "s": "NaN"}
    assert made.json()["config"] == expected
    assert http.get("/api/runs/nan-run").json()["config"] == expected
    assert http.get("/api/runs", params={"limit": 1000}).status_code == 200


def test_metric_key_limits_per_batch_are_named(http: httpx.Client, ids: dict[str, str]) -> None:
    metrics = {f"k{i}": 1.0 for i in range(10_001)}
    resp = http.post(f"/api/runs/{ids['run_id']}/metrics", json={"points": [{"step": 1, "metrics": metrics}]})
    assert resp.status_code == 422 and "10000" in resp.text, resp.text[:300]
    assert len(resp.content) < 8192


def test_errors_are_json_with_a_reason(http: httpx.Client, ids: dict[str, str]) -> None:
    cases = [
        http.get("/api/nothing-here"),
        http.get("/api/runs/no-such-run"),
        http.request("PATCH", "/api/runs"),
        http.get("/%00"),
        http.post("/api/checkpoints/no-such/best"),
    ]
    for resp in cases:
        assert resp.status_code < 500, (resp.request.url, resp.status_code)
        if resp.status_code >= 400:
            assert resp.headers["content-type"].startswith("application/json"), resp.request.url
            assert resp.json()["detail"], resp.request.url
    allowed = cases[2].headers["allow"]
    assert {m.strip() for m in allowed.split(",")} >= {"GET", "POST"}, allowed


def test_checkpoint_load_says_nothing_outside_the_roots(http: httpx.Client, server: ServerProcess) -> None:
    run = "ck-run"
    http.post("/api/runs", json={"id": run})
    inside = server.data_dir / "checkpoints" / "model.pt"
    inside.parent.mkdir(parents=True, exist_ok=True)
    inside.write_bytes(b"weights")
    for cid, path, exists in [
        ("outside", "/etc/passwd", None),
        ("outside-missing", "/no/such/file.pt", None),
        ("inside", str(inside), True),
        ("inside-missing", str(inside.with_name("gone.pt")), False),
    ]:
        assert http.post(f"/api/runs/{run}/checkpoints", json={"id": cid, "path": path}).status_code == 201
        loaded = http.post(f"/api/checkpoints/{cid}/load")
        assert loaded.status_code == 200 and loaded.json()["exists"] is exists, (cid, loaded.text)
    unreasoned = http.post(f"/api/runs/{run}/checkpoints", json={"id": "bad", "path": "/x", "valid": False})
    assert unreasoned.status_code == 201 and unreasoned.json()["invalid_reason"] == "no reason given"


def test_raw_log_is_an_attachment_and_tail_takes_offset(http: httpx.Client) -> None:
    run = "raw-run"
    http.post("/api/runs", json={"id": run})
    http.post(f"/api/runs/{run}/logs/raw", json={"chunks": [{"source": "stdout", "data": "MDEyMzQ1Njc4OQ=="}]})
    whole = http.get(f"/api/runs/{run}/logs")
    assert whole.content == b"0123456789"
    assert whole.headers["content-disposition"].startswith("attachment")
    assert http.get(f"/api/runs/{run}/logs", params={"tail": 4}).content == b"6789"
    assert http.get(f"/api/runs/{run}/logs", params={"tail": 4, "offset": 8}).content == b"89"
    assert http.get(f"/api/runs/{run}/metrics", params={"start": 5, "end": 2}).json()["metrics"] == {}


def test_openapi_declares_every_error_status(openapi: dict[str, Any]) -> None:
    for method, path, op in operations(openapi):
        codes = set(op["responses"])
        if "{" in path:
            assert "404" in codes, (method, path)
        if op.get("parameters") or op.get("requestBody"):
            assert "422" in codes, (method, path)
        if "requestBody" in op:
            assert {"413", "415"} <= codes, (method, path)
        if method in ("POST", "PUT", "DELETE"):
            assert "507" in codes, (method, path)


def test_chunked_bodies_over_the_limit_are_413_everywhere(
    http: httpx.Client, openapi: dict[str, Any], ids: dict[str, str]
) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"x": "'
        for _ in range(33):
            yield b"a" * (1024 * 1024)
        yield b'"}'

    for method, path, op in operations(openapi):
        if "requestBody" not in op:
            continue
        # a connection of its own: the server answers before reading the rest, then closes the connection
        with httpx.Client(base_url=str(http.base_url), timeout=60.0) as once:
            resp = once.request(method, fill(path, ids), content=chunks(), headers=JSON_HEADERS)
        assert resp.status_code == 413, f"{method} {path}: {resp.status_code} {resp.text[:200]}"
        assert "33554432" in resp.json()["detail"]


def test_websocket_messages_with_unservable_text_get_an_error_not_a_dropped_socket(
    server: ServerProcess, ids: dict[str, str]
) -> None:
    from websockets.sync.client import connect

    url = server.url.replace("http://", "ws://")
    with connect(f"{url}/ws") as ws:
        for message in (
            '{"type": "subscribe", "run_id": "\\udc00"}',
            '{"type": "\\udc00"}',
            '{"type": "subscribe", "run_id": "' + "r" * 100 + '"}',
        ):
            ws.send(message)
            assert _next_of(ws, {"error", "subscribed"})["type"] == "error"
        ws.send('{"type": "ping"}')
        assert _next_of(ws, {"error", "pong"})["type"] == "pong"
    with connect(f"{url}/api/runs/{ids['run_id']}/logs/stream?after=100") as ws:
        ws.send('{"type": "\\udc00"}')
        assert _next_of(ws, {"error", "pong"})["type"] == "error"
        ws.send('{"type": "ping"}')
        assert _next_of(ws, {"error", "pong"})["type"] == "pong"


def _next_of(ws: Any, kinds: set[str]) -> dict[str, Any]:
    """The next message of one of ``kinds``, skipping live traffic (lines, heartbeats, run events)."""
    for _ in range(50):
        message: dict[str, Any] = json.loads(ws.recv(timeout=10))
        if message["type"] in kinds:
            return message
    raise AssertionError(f"no {kinds} message")
