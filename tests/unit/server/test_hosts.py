"""The Host check's names (DNS rebinding): the bind address, the TLS certificate's names, loopback names on
loopback, this machine's names on a wildcard bind; ``--allowed-host`` replaces them."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import socket
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from trainboard.server.http.asgi import Message, Receive, Scope, Send
from trainboard.server.http.hosts import HostCheck, allowed_names, certificate_names
from trainboard.server.settings import Settings


def _cert(path: Path, *names: x509.GeneralName, common_name: str = "dash.example.org") -> Path:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
    )
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(list(names)), critical=False)
    path.write_bytes(builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM))
    return path


def _settings(**kw: object) -> Settings:
    return Settings(data_dir=Path("/x"), **kw)  # type: ignore[arg-type]


def test_loopback_bind() -> None:
    assert set(allowed_names(_settings(host="127.0.0.1"))) == {"localhost", "127.0.0.1", "::1"}
    assert "127.0.0.5" in allowed_names(_settings(host="127.0.0.5"))


def test_a_specific_address_with_tls(tmp_path: Path) -> None:
    cert = _cert(tmp_path / "c.pem", x509.DNSName("dash.example.org"), x509.IPAddress(ipaddress.ip_address("10.1.2.3")))
    names = allowed_names(_settings(host="10.1.2.3", ssl_certfile=str(cert)))
    assert set(names) == {"10.1.2.3", "dash.example.org"}  # no loopback names: not bound there
    plain = _cert(tmp_path / "cn.pem", common_name="old.example.org")  # no subjectAltName: the common name
    assert certificate_names(str(plain)) == ["old.example.org"]


def test_a_wildcard_bind_is_this_machine() -> None:
    names = allowed_names(_settings(host="0.0.0.0"))
    assert {"localhost", "127.0.0.1", socket.gethostname().lower()} <= set(names)
    assert "0.0.0.0" not in names and "evil.example" not in names


def test_allowed_host_replaces_the_defaults() -> None:
    assert allowed_names(_settings(host="0.0.0.0", allowed_hosts=("dash.example.org",))) == ("dash.example.org",)


def _answer(check: HostCheck, headers: list[tuple[bytes, bytes]]) -> int:
    """The status ``check`` answers a request with ``headers`` (200: passed on to the app)."""
    status = {"code": 200}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            status["code"] = message["status"]

    async def receive() -> Message:
        return {"type": "http.disconnect"}

    asyncio.run(check({"type": "http", "headers": headers}, receive, send))
    return status["code"]


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ([(b"host", b"dash.example.org")], 200),
        ([(b"host", b"DASH.example.org:8443")], 200),
        ([(b"host", b"a.lab.example")], 200),
        ([(b"host", b"lab.example")], 400),
        ([(b"host", b"[::1]:8000")], 200),
        ([(b"host", b"evil.example")], 400),
        ([], 400),
        ([(b"host", b"dash.example.org"), (b"host", b"dash.example.org")], 400),
    ],
)
def test_the_check(headers: list[tuple[bytes, bytes]], code: int) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        return None

    check = HostCheck(app, ["dash.example.org", "*.lab.example", "::1"])
    assert _answer(check, headers) == code
