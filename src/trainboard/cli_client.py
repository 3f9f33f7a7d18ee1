"""The HTTP client of the CLI's client commands (``ls``, ``logs``, ``export``, ``login``): the token, the
certificates and the one-line errors for what a user must fix (credentials refused, certificate not trusted,
server unreachable). Client side only: nothing here imports the server."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from trainboard._version import __version__
from trainboard.sdk import credentials
from trainboard.sdk.transport import response_detail

Fail = Callable[[str], Exception]


def make_client(
    base: str,
    token: str | None,
    *,
    fail: Fail,
    read_timeout: float | None = 30.0,
    check_auth: bool = True,
) -> httpx.Client:
    """A client for ``base`` sending ``token`` as ``Authorization: Bearer``; with ``check_auth`` a 401/403
    answer to any of its requests raises ``fail(<one line>)`` (the token is never in it)."""

    def refused(resp: httpx.Response) -> None:
        if resp.status_code in (401, 403):
            resp.read()
            raise fail(credentials.auth_message(base, resp.status_code, response_detail(resp)))

    try:
        verify = credentials.verify_for(base)
    except credentials.CredentialsError as exc:
        raise fail(str(exc)) from None
    return httpx.Client(
        base_url=base,
        timeout=httpx.Timeout(30.0, read=read_timeout),
        headers={"user-agent": f"trainboard-cli/{__version__}", **credentials.auth_headers(token)},
        verify=verify,
        trust_env=True,
        event_hooks={"response": [refused]} if check_auth else {},
    )


def unreachable(base: str, exc: BaseException) -> str:
    """The line for a request that got no answer: the certificate message when that was the cause."""
    if credentials.is_certificate_error(exc):
        return credentials.certificate_message(base)
    return f"cannot reach the trainboard server at {base} ({exc}); start it with `trainboard serve`"
