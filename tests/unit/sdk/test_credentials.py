"""Where the SDK and the CLI get a token and a CA from, and how the stored credentials file is kept."""

from __future__ import annotations

import io
import stat
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trainboard.cli_accounts import SecretInputError, parse_duration, read_secret
from trainboard.sdk import credentials
from trainboard.sdk.transport import Transport

URL = "https://dash.example.com"


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "config"
    monkeypatch.setenv(credentials.ENV_CONFIG_DIR, str(folder))
    for name in (credentials.ENV_TOKEN, credentials.ENV_CA_BUNDLE, "SSL_CERT_FILE"):
        monkeypatch.delenv(name, raising=False)
    return folder


def test_the_stored_file_is_readable_only_by_its_owner(isolated: Path) -> None:
    path = credentials.store(URL, "tb_first")
    assert path == isolated / "credentials.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(isolated.stat().st_mode) == 0o700
    credentials.store("http://127.0.0.1:8000", "tb_second")  # rewritten: still 0600, both kept
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert credentials.load_all() == {URL: "tb_first", "http://127.0.0.1:8000": "tb_second"}
    assert not [p for p in isolated.iterdir() if p.name != "credentials.json"]  # no temporary file left


def test_a_token_is_found_under_the_same_url_written_differently() -> None:
    credentials.store("HTTPS://Dash.Example.com/", "tb_x")
    assert credentials.stored_token(URL) == "tb_x"
    assert credentials.stored_token("https://other.example.com") is None
    assert credentials.remove(URL + "/") is True
    assert credentials.remove(URL) is False
    assert credentials.stored_token(URL) is None


def test_the_argument_wins_then_the_environment_then_the_stored_token(monkeypatch: pytest.MonkeyPatch) -> None:
    assert credentials.resolve_token(URL) is None
    credentials.store(URL, "tb_stored")
    assert credentials.resolve_token(URL) == "tb_stored"
    monkeypatch.setenv(credentials.ENV_TOKEN, "tb_env")
    assert credentials.resolve_token(URL) == "tb_env"
    assert credentials.resolve_token(URL, "tb_arg") == "tb_arg"
    monkeypatch.setenv(credentials.ENV_TOKEN, "  ")
    assert credentials.resolve_token(URL) == "tb_stored"


def test_a_damaged_file_means_no_stored_tokens(isolated: Path) -> None:
    isolated.mkdir()
    (isolated / "credentials.json").write_text("{not json")
    assert credentials.load_all() == {}
    (isolated / "credentials.json").write_text('["a list"]')
    assert credentials.resolve_token(URL) is None


def test_the_ca_bundle_comes_from_trainboard_ca_bundle_then_ssl_cert_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert credentials.verify() is True
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "a.pem"))
    monkeypatch.setenv(credentials.ENV_CA_BUNDLE, str(tmp_path / "b.pem"))
    assert credentials.ca_bundle() == str(tmp_path / "b.pem")
    with pytest.raises(credentials.CredentialsError, match=r"TRAINBOARD_CA_BUNDLE=.*b\.pem: not a readable CA file"):
        credentials.verify()
    monkeypatch.delenv(credentials.ENV_CA_BUNDLE)
    with pytest.raises(credentials.CredentialsError, match=r"SSL_CERT_FILE=.*a\.pem"):
        credentials.verify()


def test_the_transport_never_shows_its_token() -> None:
    transport = Transport(URL, token="tb_secret-value")
    try:
        assert "tb_secret" not in repr(transport) and "authenticated=True" in repr(transport)
    finally:
        transport.close()
    assert "tb_secret" not in credentials.auth_message(URL, 401, "invalid, expired or revoked token")


def test_a_secret_is_one_line_of_stdin_when_not_a_terminal() -> None:
    assert read_secret("Token", confirm=False, stdin=io.StringIO("tb_abc\nrest\n")) == "tb_abc"
    assert read_secret("Password", confirm=True, stdin=io.StringIO("pass word \r\n")) == "pass word "
    with pytest.raises(SecretInputError, match="no password given"):
        read_secret("Password", confirm=True, stdin=io.StringIO(""))


@pytest.mark.parametrize(
    ("text", "seconds"), [("30d", 30 * 86400), ("12h", 43200), ("90m", 5400), ("2w", 14 * 86400), ("7", 7 * 86400)]
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@given(st.text(max_size=12))
def test_a_duration_parses_or_raises_value_error(text: str) -> None:
    try:
        assert parse_duration(text) > 0
    except ValueError as exc:
        assert "expected a duration" in str(exc)
