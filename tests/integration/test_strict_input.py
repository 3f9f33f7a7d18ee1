"""Issue 21, item 5: a password policy, strict JSON request bodies (UTF-8, no duplicate keys) and one ``Host``
header, through a real ``trainboard serve`` and the CLI."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.support.auth import Seeded, seed
from tests.support.servers import ServerProcess


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, Seeded]]:
    data = tmp_path_factory.mktemp("data")
    seeded = seed(data)
    server = ServerProcess(data_dir=data, db_url=None).start()
    yield server, seeded
    server.stop()


def _post(server: ServerProcess, path: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    sent = {**headers, "Content-Type": "application/json"}
    return httpx.post(server.url + path, content=body, headers=sent, timeout=30)


@pytest.mark.parametrize(
    ("password", "ok"), [("a", False), ("eleven char", False), ("x" * 12, True), (" " * 12, False)]
)
def test_the_api_refuses_a_short_password_naming_the_field(
    world: tuple[ServerProcess, Seeded], password: str, ok: bool
) -> None:
    server, seeded = world
    name = f"p{len(password)}{'s' if password.isspace() else ''}"
    body = json.dumps({"name": name, "role": "viewer", "password": password}).encode()
    r = _post(server, "/api/users", body, seeded.headers("ann"))
    if ok:
        assert r.status_code == 201, r.text
        changed = httpx.put(f"{server.url}/api/users/{name}", json={"password": "short"}, headers=seeded.headers("ann"))
        assert changed.status_code == 422 and changed.json()["detail"][0]["loc"] == ["body", "password"]
        return
    assert r.status_code == 422, r.text
    error = r.json()["detail"][0]
    assert error["loc"] == ["body", "password"]
    if password.strip():
        assert "at least 12" in error["msg"]


def test_the_minimum_is_a_serve_option(tmp_path: Path) -> None:
    seeded = seed(tmp_path / "data")
    server = ServerProcess(tmp_path / "data", None, extra_args=["--min-password-length", "20"]).start()
    try:
        body = {"name": "pat", "role": "viewer", "password": "fifteen chars!!"}
        r = httpx.post(server.url + "/api/users", json=body, headers=seeded.headers("ann"), timeout=30)
        assert r.status_code == 422 and "at least 20" in r.json()["detail"][0]["msg"]
        body["password"] = "twenty characters ok"
        made = httpx.post(server.url + "/api/users", json=body, headers=seeded.headers("ann"), timeout=30)
        assert made.status_code == 201
    finally:
        server.stop()


def test_user_add_refuses_a_short_password(tmp_path: Path) -> None:
    argv = [sys.executable, "-m", "trainboard.cli", "user", "add", "ann", "--role", "admin", "--data", str(tmp_path)]
    short = subprocess.run(argv, input="a\n", capture_output=True, text=True, timeout=60)
    assert short.returncode == 1 and "at least 12" in short.stderr
    fine = subprocess.run(argv, input="a proper passphrase\n", capture_output=True, text=True, timeout=60)
    assert fine.returncode == 0, fine.stderr


@pytest.mark.parametrize(
    "encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-8-sig"], ids=lambda e: e.replace("-", "")
)
def test_a_json_body_must_be_utf8(world: tuple[ServerProcess, Seeded], encoding: str) -> None:
    server, seeded = world
    body = json.dumps({"id": f"enc-{encoding}"}).encode(encoding)
    r = _post(server, "/api/runs", body, seeded.headers("ed"))
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"] == ["body"] and "UTF-8" in r.json()["detail"][0]["msg"]
    found = httpx.get(f"{server.url}/api/runs/enc-{encoding}", headers=seeded.headers("ed"), timeout=30)
    assert found.status_code == 404


def test_invalid_utf8_is_refused(world: tuple[ServerProcess, Seeded]) -> None:
    server, seeded = world
    r = _post(server, "/api/runs", b'{"id": "bad-\xff"}', seeded.headers("ed"))
    assert r.status_code == 422 and "not valid UTF-8" in r.json()["detail"][0]["msg"]


@pytest.mark.parametrize(
    ("body", "key"),
    [
        (b'{"id": "dup-a", "id": "dup-b"}', "id"),
        (b'{"id": "dup-c", "config": {"lr": 1, "lr": 2}}', "lr"),
        (b'{"id": "dup-d", "config": {"a": [{"x": 1, "x": 1}]}}', "x"),
    ],
)
def test_duplicate_keys_are_400_naming_the_key(world: tuple[ServerProcess, Seeded], body: bytes, key: str) -> None:
    server, seeded = world
    r = _post(server, "/api/runs", body, seeded.headers("ed"))
    assert r.status_code == 400, r.text
    assert f"duplicate key {key!r}" in r.json()["detail"]
    run_id = json.loads(body)["id"]
    assert httpx.get(f"{server.url}/api/runs/{run_id}", headers=seeded.headers("ed"), timeout=30).status_code == 404


def test_plain_utf8_json_and_malformed_json_keep_their_answers(world: tuple[ServerProcess, Seeded]) -> None:
    server, seeded = world
    ok = _post(server, "/api/runs", json.dumps({"id": "plain", "name": "naïve ✓"}).encode(), seeded.headers("ed"))
    assert ok.status_code == 201 and ok.json()["name"] == "naïve ✓"
    broken = _post(server, "/api/runs", b'{"id": ', seeded.headers("ed"))
    assert broken.status_code == 422  # not JSON at all: the route's own answer, naming the position
    metrics = _post(
        server,
        "/api/runs/plain/metrics",
        b'{"points": [{"step": 1, "metrics": {"a": 1, "a": 2}}]}',
        seeded.headers("ed"),
    )
    assert metrics.status_code == 400 and "duplicate key 'a'" in metrics.json()["detail"]


def _raw(server: ServerProcess, head: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(head)
        data = b""
        while chunk := sock.recv(65536):  # Connection: close: read to the end
            data += chunk
        return data


def test_two_host_headers_are_400(world: tuple[ServerProcess, Seeded]) -> None:
    server, _seeded = world
    two = _raw(server, b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n")
    assert two.startswith(b"HTTP/1.1 400") and b"duplicate Host header" in two, two[:400]
    one = _raw(server, b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    assert one.startswith(b"HTTP/1.1 200"), one[:200]


def test_a_big_body_is_checked_too(world: tuple[ServerProcess, Seeded]) -> None:
    """Over 64 KiB the check runs in a worker thread: same answers."""
    server, seeded = world
    assert _post(server, "/api/runs", json.dumps({"id": "big"}).encode(), seeded.headers("ed")).status_code == 201
    points = [{"step": i, "metrics": {"loss": 1.0 / (i + 1)}} for i in range(5000)]
    body = json.dumps({"points": points}).encode()
    assert len(body) > 64 * 1024
    ok = _post(server, "/api/runs/big/metrics", body, seeded.headers("ed"))
    assert ok.status_code == 200 and ok.json()["accepted"] == 5000, ok.text
    twice = body[:-1] + b', "points": []}'
    refused = _post(server, "/api/runs/big/metrics", twice, seeded.headers("ed"))
    assert refused.status_code == 400 and "duplicate key 'points'" in refused.json()["detail"]
