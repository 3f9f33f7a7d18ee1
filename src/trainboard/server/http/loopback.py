"""What counts as a loopback bind: an IP in 127.0.0.0/8, ``::1``, or the name ``localhost`` (never a string
prefix: ``127.example.org`` is an ordinary host name)."""

from __future__ import annotations

import ipaddress

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
#: Binds that listen on every interface.
WILDCARDS = frozenset({"", "0.0.0.0", "::"})


def bare(host: str) -> str:
    """``host`` without IPv6 brackets, lower case."""
    return host.strip().removeprefix("[").removesuffix("]").lower()


def is_loopback(host: str) -> bool:
    name = bare(host)
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def is_wildcard(host: str) -> bool:
    return bare(host) in WILDCARDS
