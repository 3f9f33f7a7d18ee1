"""The Host check (DNS rebinding): a request must name this server in its ``Host`` header, on every bind.

A web page on ``evil.example`` whose DNS answer is switched to this machine's address sends requests the browser
treats as same-origin, but with ``Host: evil.example``; refusing unknown names stops it. The names accepted are
``--allowed-host`` when given, else :func:`default_names`: the bind address, the TLS certificate's names when TLS
is on, the loopback names on a loopback bind, and for a wildcard bind (``0.0.0.0``, ``::``) this machine's names
and interface addresses. Two ``Host`` headers are refused too (a proxy and the app could read different ones).
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterable

from trainboard.server.http.asgi import ASGIApp, Receive, Scope, Send, refuse
from trainboard.server.http.guard import split_host
from trainboard.server.http.loopback import LOOPBACK_NAMES, bare, is_loopback, is_wildcard
from trainboard.server.settings import Settings

log = logging.getLogger(__name__)


def certificate_names(certfile: str) -> list[str]:
    """The DNS names and IP addresses a PEM certificate is for (its subjectAltName, else its common name)."""
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    try:
        with open(certfile, "rb") as fh:
            cert = x509.load_pem_x509_certificate(fh.read())
    except (OSError, ValueError) as exc:
        log.warning("cannot read the names of %s for the Host check: %s", certfile, exc)
        return []
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return [str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    return [*san.get_values_for_type(x509.DNSName), *(str(ip) for ip in san.get_values_for_type(x509.IPAddress))]


def machine_names() -> list[str]:
    """This machine's host names and the addresses of its interfaces (what a wildcard bind answers on)."""
    import psutil

    names = [socket.gethostname(), socket.getfqdn()]
    for addresses in psutil.net_if_addrs().values():
        for address in addresses:
            if address.family in (socket.AF_INET, socket.AF_INET6):
                names.append(address.address.split("%", 1)[0])
    return names


def default_names(settings: Settings) -> tuple[str, ...]:
    """The Host names a server with these settings accepts without ``--allowed-host``."""
    names: list[str] = []
    if is_loopback(settings.host) or is_wildcard(settings.host):
        names += LOOPBACK_NAMES
    if is_wildcard(settings.host):
        names += machine_names()
    else:
        names.append(settings.host)
    if settings.ssl_certfile:
        names += certificate_names(settings.ssl_certfile)
    return tuple(dict.fromkeys(bare(n) for n in names if n))


def allowed_names(settings: Settings) -> tuple[str, ...]:
    return settings.allowed_hosts if settings.allowed_hosts is not None else default_names(settings)


class HostCheck:
    """Pure ASGI middleware: 400 (JSON, naming the header) for a missing, duplicate or unknown ``Host``."""

    def __init__(self, app: ASGIApp, allowed: Iterable[str]) -> None:
        self.app = app
        names = [bare(n) for n in allowed]
        self.any = "*" in names
        self.exact = frozenset(n for n in names if not n.startswith("*."))
        self.suffixes = tuple(n[1:] for n in names if n.startswith("*."))

    def accepts(self, name: str) -> bool:
        return self.any or name in self.exact or name.endswith(self.suffixes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        values = [bytes(v) for k, v in scope.get("headers", ()) if k.lower() == b"host"]
        problem = None
        if len(values) > 1:
            problem = f"duplicate Host header ({len(values)} given): send one"
        elif not self.any:
            text = values[0].decode("latin-1") if values else ""
            key = split_host(text, scope.get("scheme", "http")) if text else None
            if key is None:
                problem = "the Host header is missing or not a host[:port]"
            elif not self.accepts(key[0]):
                problem = (
                    f"Host {text[:100]!r} is not a name of this server (DNS rebinding protection): "
                    "add it with `trainboard serve --allowed-host NAME`"
                )
        if problem is not None:
            await refuse(scope, send, 400, problem)
            return
        await self.app(scope, receive, send)
