"""``trainboard login`` / ``logout`` (client side: a token stored for a server URL) and the helpers the server's
``user`` / ``token`` commands share with them: reading a secret (hidden on a terminal, one line of stdin
otherwise), durations such as ``30d`` and the Rich tables. Nothing here imports the server: the account
commands (``server/admin_cli.py``) import the store functions after checking for the ``[server]`` extra."""

from __future__ import annotations

import getpass
import re
import sys
from datetime import UTC, datetime
from typing import Annotated, Any, TextIO

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from trainboard import cli_common as common
from trainboard import paths
from trainboard.cli_common import fail

_DURATION = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*", re.I)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "": 86400}


class SecretInputError(ValueError):
    """No secret could be read; ``str()`` is a one-line message."""


def parse_duration(text: str) -> float:
    """Seconds in ``30d``, ``12h``, ``90m``, ``2w``, ``45s`` (a bare number is days); ValueError otherwise."""
    m = _DURATION.fullmatch(text)
    if not m or float(m.group(1)) <= 0:
        raise ValueError(f"expected a duration such as 30d, 12h, 90m or 2w, got {text!r}")
    return float(m.group(1)) * _UNIT_SECONDS[m.group(2).lower()]


def read_secret(what: str, *, confirm: bool, stdin: TextIO | None = None) -> str:
    """A password or token: asked without echo on a terminal (twice with ``confirm``), else the first line of
    stdin (so ``echo "$TOKEN" | trainboard login URL`` and scripts work). Never echoed or printed."""
    stream = stdin or sys.stdin
    if stream.isatty():
        first = getpass.getpass(f"{what}: ")
        if confirm and getpass.getpass(f"{what} (again): ") != first:
            raise SecretInputError(f"the two {what.lower()}s differ")
        secret = first
    else:
        secret = stream.readline().rstrip("\r\n")
    if not secret.strip():
        raise SecretInputError(f"no {what.lower()} given (type it at the prompt, or pipe it on stdin)")
    return secret


def when(epoch: float | None) -> str:
    """An epoch time as ``2026-12-01 20:55`` (UTC), or ``-``."""
    if epoch is None:
        return "-"
    return datetime.fromtimestamp(float(epoch), UTC).strftime("%Y-%m-%d %H:%M")


def users_table(users: list[dict[str, Any]]) -> Table:
    table = Table(title=f"{len(users)} users", title_justify="left", header_style="bold", box=None, pad_edge=False)
    for column in ("NAME", "ROLE", "LAUNCH", "DISABLED", "CREATED"):
        table.add_column(column, no_wrap=column != "NAME", overflow="fold")
    for u in users:
        launch = "yes" if u.get("can_launch") or u["role"] == "admin" else ""
        disabled = "yes" if u.get("disabled") else ""
        table.add_row(Text(str(u["name"])), u["role"], launch, disabled, when(u.get("created_at")))
    return table


def tokens_table(tokens: list[dict[str, Any]], *, now: float | None = None) -> Table:
    """Every token with its state; the secret is never stored, only the ``tb_xxxxxx`` prefix exists."""
    now = datetime.now(UTC).timestamp() if now is None else now
    table = Table(title=f"{len(tokens)} tokens", title_justify="left", header_style="bold", box=None, pad_edge=False)
    for column in ("ID", "NAME", "SCOPE", "USER", "RUN", "CREATED", "EXPIRES", "LAST USED", "REVOKED"):
        wrap = column in ("NAME", "USER", "RUN")
        table.add_column(column, overflow="fold", no_wrap=not wrap, justify="right" if column == "ID" else "left")
    for t in tokens:
        expires = t.get("expires_at")
        expired = expires is not None and float(expires) <= now
        table.add_row(
            str(t["id"]),
            Text(str(t["name"])),
            t["scope"],
            Text(str(t["user"])) if t.get("user") else Text("(service)", style="dim"),
            Text(str(t["run_id"])) if t.get("run_id") else "",
            when(t.get("created_at")),
            when(expires) + (" (expired)" if expired else "") if expires is not None else "never",
            when(t.get("last_used_at")) if t.get("last_used_at") is not None else "never",
            Text("revoked", style="red") if t.get("revoked") else "",
        )
    return table


def register(app: typer.Typer) -> None:
    """Add ``login`` and ``logout`` to ``app``."""
    app.command()(login)
    app.command()(logout)


def login(
    url: Annotated[str, typer.Argument(help="The dashboard's URL, e.g. https://dash.example.com", show_default=False)],
) -> None:
    """Store an API token for URL (asked without echo, or read from stdin), checked against the server first.

    Kept in ~/.config/trainboard/credentials.json ($TRAINBOARD_CONFIG_DIR overrides the folder), readable only
    by you; the SDK and the CLI use it for that URL when no --token / $TRAINBOARD_TOKEN is given."""
    import httpx

    from trainboard.cli_client import make_client, unreachable
    from trainboard.sdk import credentials

    try:
        base = paths.server_url(url)
    except ValueError as exc:
        raise fail(str(exc), code=2) from None
    try:
        token = read_secret("Token", confirm=False).strip()
    except SecretInputError as exc:
        raise fail(str(exc)) from None
    try:
        with make_client(base, token, fail=fail, check_auth=False) as client:
            resp = client.get("/api/auth/me")
    except httpx.HTTPError as exc:
        raise fail(unreachable(base, exc)) from None
    me: dict[str, Any] = resp.json() if resp.status_code == 200 else {}
    if resp.status_code in (401, 403) or (me.get("auth") and me.get("via") != "token"):
        status = "" if resp.status_code == 200 else f" (HTTP {resp.status_code})"
        raise fail(f"{base} did not accept this token{status}; nothing was stored")
    if resp.status_code != 200 or "auth" not in me:
        raise fail(f"{base}/api/auth/me: HTTP {resp.status_code}: is this a trainboard server?")
    try:
        where = credentials.store(base, token)
    except credentials.CredentialsError as exc:
        raise fail(str(exc)) from None
    who = me.get("user") or {}
    if not me.get("auth"):
        common.note(f"{base} has authentication off; the token is stored for when it is on")
    elif who:
        common.console.print(
            f"logged in to {base} as {escape(str(who.get('name')))} ({who.get('role')})", highlight=False
        )
    else:
        common.console.print(f"logged in to {base} with a service token", highlight=False)
    common.console.print(f"token stored in {where} (readable only by you)", highlight=False)


def logout(url: Annotated[str, typer.Argument(help="The dashboard's URL", show_default=False)]) -> None:
    """Forget the token `trainboard login URL` stored."""
    from trainboard.sdk import credentials

    try:
        base = paths.server_url(url)
        removed = credentials.remove(base)
    except ValueError as exc:
        raise fail(str(exc), code=2) from None
    except credentials.CredentialsError as exc:
        raise fail(str(exc)) from None
    common.console.print(
        f"forgot the token for {base}" if removed else f"no token was stored for {base}", highlight=False
    )
