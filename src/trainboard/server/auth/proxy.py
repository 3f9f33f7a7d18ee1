"""The auth-proxy header (oauth2-proxy, Authelia...): believed only when the TCP peer (``forwarded.tcp_peer``,
never an address taken from ``X-Forwarded-For``) is a trusted proxy."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


ANY = (ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0"))


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """``--auth-proxy-from`` / ``--forwarded-allow-ips`` values (addresses or CIDRs, comma-separated lists of
    them, ``*`` for any); raises ``ValueError`` naming a bad one."""
    nets: list[Network] = []
    for value in values:
        for part in value.split(","):
            item = part.strip()
            if not item:
                continue
            if item == "*":
                nets.extend(ANY)
                continue
            try:
                nets.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                raise ValueError(f"not an address or CIDR: {item!r}") from None
    return tuple(nets)


def trusted_proxies(forwarded_allow_ips: Iterable[str], auth_proxy_from: Iterable[str]) -> tuple[Network, ...]:
    """The peers whose forwarded headers are believed: the reverse proxies named, and the auth proxy."""
    return parse_networks([*forwarded_allow_ips, *auth_proxy_from])


def peer_trusted(peer: str | None, networks: tuple[Network, ...]) -> bool:
    if not peer or not networks:
        return False
    try:
        address = ipaddress.ip_address(peer)
    except ValueError:
        return False
    return any(address in net for net in networks)
