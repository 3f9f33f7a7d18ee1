"""The origin rules as a pure function of the request (server/http/guard.py); the real-server tests are in
tests/integration/test_origin_rules.py."""

from __future__ import annotations

from typing import Any

import pytest

from trainboard.server.http.guard import origin_key, parse_origins, refusal


def scope(method: str = "POST", kind: str = "http", **headers: str) -> dict[str, Any]:
    raw = [(k.replace("_", "-").encode(), v.encode()) for k, v in headers.items()]
    return {"type": kind, "method": method, "scheme": "http", "headers": [(b"host", b"127.0.0.1:8000"), *raw]}


@pytest.mark.parametrize(
    ("origin", "key"),
    [
        ("http://127.0.0.1:8000", ("127.0.0.1", 8000)),
        ("http://LOCALHOST", ("localhost", 80)),
        ("https://example.com", ("example.com", 443)),
        ("http://[::1]:9000", ("::1", 9000)),
        ("null", None),
        ("http://x/path", None),
        ("garbage", None),
        ("http://host:notaport", None),
    ],
)
def test_origin_keys(origin: str, key: tuple[str, int] | None) -> None:
    assert origin_key(origin) == key


def test_writes_need_json_or_the_marker_header() -> None:
    assert refusal(scope())[0] == 403  # type: ignore[index]
    assert refusal(scope(x_trainboard="1")) is None
    assert refusal(scope(content_type="application/json; charset=utf-8")) is None
    assert refusal(scope(content_type="text/plain", content_length="2"))[0] == 415  # type: ignore[index]
    assert refusal(scope(x_trainboard="1", content_type="text/plain", content_length="2"))[0] == 415  # type: ignore[index]
    assert refusal(scope("GET")) is None


def test_foreign_origins_and_cross_site_fetches_are_refused() -> None:
    assert refusal(scope(x_trainboard="1", origin="http://127.0.0.1:8000")) is None
    for origin in ("http://127.0.0.1:8001", "http://localhost:8000", "null", "http://evil.example"):
        assert refusal(scope(x_trainboard="1", origin=origin))[0] == 403, origin  # type: ignore[index]
        assert refusal(scope("GET", "websocket", origin=origin))[0] == 403, origin  # type: ignore[index]
    for site in ("cross-site", "same-site"):
        assert refusal(scope("GET", sec_fetch_site=site, sec_fetch_mode="cors"))[0] == 403  # type: ignore[index]
        assert refusal(scope("GET", sec_fetch_site=site, sec_fetch_mode="navigate")) is None  # a link
        assert refusal(scope("POST", sec_fetch_site=site, sec_fetch_mode="navigate", x_trainboard="1")) is not None
    assert refusal(scope("GET", sec_fetch_site="same-origin")) is None
    assert refusal(scope("GET", sec_fetch_site="none")) is None


def test_allowed_origins() -> None:
    allowed = parse_origins(["https://board.example.com"])
    assert refusal(scope(x_trainboard="1", origin="https://board.example.com"), allowed) is None
    assert refusal(scope(x_trainboard="1", origin="https://board.example.com:444"), allowed) is not None
    with pytest.raises(ValueError, match="not an origin"):
        parse_origins(["board.example.com"])
