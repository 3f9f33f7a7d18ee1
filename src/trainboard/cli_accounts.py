"""Helpers of ``trainboard user`` / ``token`` / ``login``: reading a secret (hidden on a terminal, one line of
stdin otherwise), durations such as ``30d`` and the Rich tables. Nothing here imports the server: the commands
in ``cli`` import the store functions after checking for the ``[server]`` extra."""

from __future__ import annotations

import getpass
import re
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

from rich.table import Table
from rich.text import Text

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
