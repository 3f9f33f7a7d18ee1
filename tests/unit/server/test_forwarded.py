"""``X-Forwarded-For``/``-Proto`` believed from trusted peers only; the TCP peer kept for the auth proxy check."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from trainboard.server.auth.proxy import parse_networks
from trainboard.server.http.asgi import Message, Scope
from trainboard.server.http.forwarded import PEER_KEY, ForwardedHeaders, forwarded_client, tcp_peer


def _through(trusted: list[str], peer: str, headers: dict[str, str], kind: str = "http") -> Scope:
    seen: dict[str, Any] = {}

    async def app(scope: Scope, receive: Any, send: Any) -> None:
        seen.update(scope)

    async def receive() -> Message:
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        pass

    scope: Scope = {
        "type": kind,
        "scheme": "http" if kind == "http" else "ws",
        "client": (peer, 5000),
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    }
    asyncio.run(ForwardedHeaders(app, parse_networks(trusted))(scope, receive, send))
    return seen


FORGED = {"X-Forwarded-For": "10.9.9.9", "X-Forwarded-Proto": "https"}


def test_an_untrusted_peers_headers_change_nothing() -> None:
    scope = _through([], "127.0.0.1", FORGED)
    assert scope["client"] == ("127.0.0.1", 5000) and scope["scheme"] == "http" and tcp_peer(scope) == "127.0.0.1"
    scope = _through(["10.9.9.9"], "127.0.0.1", FORGED)  # naming the proxy's address does not make one the proxy
    assert scope["client"][0] == "127.0.0.1" and tcp_peer(scope) == "127.0.0.1"


def test_a_trusted_peer_forwards_the_client_and_the_scheme() -> None:
    scope = _through(["127.0.0.1"], "127.0.0.1", {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"})
    assert scope["client"] == ("203.0.113.7", 0) and scope["scheme"] == "https"
    assert scope[PEER_KEY] == "127.0.0.1" and tcp_peer(scope) == "127.0.0.1"
    ws = _through(["127.0.0.0/8"], "127.0.0.2", {"X-Forwarded-Proto": "https"}, kind="websocket")
    assert ws["scheme"] == "wss"
    odd = _through(["127.0.0.1"], "127.0.0.1", {"X-Forwarded-Proto": "gopher"})
    assert odd["scheme"] == "http"


@pytest.mark.parametrize(
    ("chain", "client"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("1.1.1.1, 203.0.113.7", "203.0.113.7"),  # what the client wrote first is not believed
        ("1.1.1.1, 203.0.113.7, 10.0.0.2", "203.0.113.7"),  # 10.0.0.2: another trusted proxy in the chain
        ("10.0.0.3, 10.0.0.2", "10.0.0.3"),  # all trusted: the first
    ],
)
def test_the_client_is_the_rightmost_untrusted_hop(chain: str, client: str) -> None:
    assert forwarded_client(chain, parse_networks(["10.0.0.0/8"])) == client


def test_network_lists() -> None:
    assert len(parse_networks(["127.0.0.1, 10.0.0.0/8", "::1"])) == 3
    assert len(parse_networks(["*"])) == 2
    with pytest.raises(ValueError, match="not an address or CIDR: 'nginx'"):
        parse_networks(["127.0.0.1,nginx"])
