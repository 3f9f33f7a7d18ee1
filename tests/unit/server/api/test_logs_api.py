"""The raw-log upload route: base64 is checked once, where it is decoded, exactly as the documented pattern."""

from __future__ import annotations

import base64
import itertools
import re

from fastapi.testclient import TestClient

from trainboard.server.api.logs import BASE64_PATTERN, decode_base64


def test_decode_base64_takes_exactly_what_the_pattern_matches() -> None:
    pattern = re.compile(BASE64_PATTERN)
    for length in range(11):
        for chars in itertools.product("A/=", repeat=length):
            text = "".join(chars)
            assert (decode_base64(text) is not None) == bool(pattern.fullmatch(text)), text
    for text in ["AAAA====", "AAAA=", "AA==\n", "AA==AA==", " AAA", "AA-_", "é", "QUJD", "QUI=", "QQ=="]:
        assert (decode_base64(text) is not None) == bool(pattern.fullmatch(text)), text
    assert decode_base64(base64.b64encode(b"\x00\xff raw").decode()) == b"\x00\xff raw"


def test_invalid_base64_is_a_422_naming_the_chunk_and_nothing_is_stored(client: TestClient) -> None:
    client.post("/api/runs", json={"id": "b64"})
    good = {"source": "stdout", "data": base64.b64encode(b"ok\n").decode()}
    for bad in ["AAAA====", "AAAA=", "AA", "AA==\n", "QUJD!"]:
        resp = client.post("/api/runs/b64/logs/raw", json={"chunks": [good, {"source": "stdout", "data": bad}]})
        assert resp.status_code == 422, (bad, resp.text)
        assert resp.json()["detail"][0]["loc"] == ["body", "chunks", 1, "data"]
    assert client.get("/api/runs/b64/logs").content == b""
    assert client.post("/api/runs/b64/logs/raw", json={"chunks": [good]}).json()["appended"] == 3
    assert client.get("/api/runs/b64/logs").content == b"ok\n"
