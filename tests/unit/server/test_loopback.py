"""Loopback is an address in 127.0.0.0/8, ::1 or the name localhost, never a string prefix (issue 21)."""

from __future__ import annotations

from pathlib import Path

import pytest

from trainboard.server.auth.mode import required_by_settings
from trainboard.server.http.loopback import is_loopback, is_wildcard
from trainboard.server.settings import Settings


@pytest.mark.parametrize("host", ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost", "LOCALHOST"])
def test_loopback_binds(host: str) -> None:
    assert is_loopback(host)
    assert Settings(data_dir=Path("/x"), host=host).is_loopback


@pytest.mark.parametrize(
    "host", ["127.example.org", "127.0.0.1.nip.io", "0.0.0.0", "::", "10.0.0.1", "localhost.evil", ""]
)
def test_not_loopback(host: str) -> None:
    assert not is_loopback(host)
    assert required_by_settings(Settings(data_dir=Path("/x"), host=host)) is True  # auth on, users or not


def test_wildcards() -> None:
    assert is_wildcard("0.0.0.0") and is_wildcard("::") and is_wildcard("[::]") and is_wildcard("")
    assert not is_wildcard("127.0.0.1") and not is_wildcard("10.0.0.1")
