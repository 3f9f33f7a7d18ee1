"""What the strict JSON check refuses (the HTTP answers: tests/integration/test_strict_input.py)."""

from __future__ import annotations

import json

import pytest

from trainboard.server.http.strict_json import problem


@pytest.mark.parametrize(
    "body",
    [b"", b'{"a": 1}', '{"a": "\u00e9\u2713"}'.encode(), b'[{"a": 1}, {"a": 2}]', b'{"a": {"b": 1}, "b": 2}', b"{nope"],
)
def test_accepted(body: bytes) -> None:
    assert problem(body) is None


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-8-sig"])
def test_only_utf8(encoding: str) -> None:
    found = problem(json.dumps({"a": 1}).encode(encoding))
    assert found is not None and found.status == 422 and "UTF-8" in found.message


def test_invalid_utf8() -> None:
    found = problem(b'{"a": "\xc3"}')
    assert found is not None and found.status == 422 and "not valid UTF-8" in found.message


@pytest.mark.parametrize(
    ("body", "key"),
    [(b'{"a": 1, "a": 1}', "a"), (b'{"x": [{"k": 1, "j": 2, "k": 3}]}', "k"), (b'{"\\u0061": 1, "a": 2}', "a")],
)
def test_duplicate_keys(body: bytes, key: str) -> None:
    found = problem(body)
    assert found is not None and found.status == 400
    assert found.message == f"duplicate key {key!r} in the JSON body: each key may appear once per object"
