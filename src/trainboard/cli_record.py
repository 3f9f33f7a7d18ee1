"""The work of ``trainboard run`` (:func:`record`) and its fast reading of a plain command line (:func:`fast_run`).

``run`` wraps every training command, so its own start counts: ``cli.main`` calls :func:`fast_run` before
anything else is imported. It reads ``trainboard run [OPTIONS] -- CMD ...`` when every option is one of
``run``'s own, spelled out in full (``--name N`` or ``--name=N``), without Typer, whose parameter coercion
loads pydantic and whose app takes longer to build than the rest of the start together. Anything else —
``--help``, an unknown, abbreviated or malformed option, a value starting with ``-``, ``CMD`` without ``--``
before it — returns ``None`` and goes through Typer (``cli_run``), so messages and behaviour stay Typer's.
Both ways end in :func:`record`. Nothing here imports Typer, Rich or the server at module level.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any


class RunError(Exception):
    """A command line ``record`` refuses, or a command it cannot start: one line and the exit code."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


#: ``run``'s options that take a value, with how the value is read (a ValueError sends it to Typer).
VALUE_OPTIONS: dict[str, Any] = {
    "--name": str,
    "--project": str,
    "--url": str,
    "--data": Path,
    "--run-id": str,
    "--flush-timeout": float,
    "--system-interval": float,
    "--token": str,
}
#: ``run``'s flags: option -> (keyword, value).
FLAGS: dict[str, tuple[str, bool]] = {
    "--mirror": ("mirror", True),
    "--no-mirror": ("mirror", False),
    "--separate-stderr": ("separate_stderr", True),
    "--merge-stderr": ("separate_stderr", False),
    "--parse-metrics": ("parse_metrics", True),
    "--no-parse-metrics": ("parse_metrics", False),
}
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def parse_plain(args: Sequence[str]) -> tuple[dict[str, Any], list[str]] | None:
    """``(options, CMD)`` of a plain ``run`` command line (what follows ``run``), or ``None`` for Typer."""
    opts: dict[str, Any] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            return (opts, list(args[i + 1 :])) if i + 1 < len(args) else None
        name, eq, value = arg.partition("=")
        if name in FLAGS and not eq:
            key, flag = FLAGS[name]
            opts[key] = flag
            i += 1
            continue
        if name not in VALUE_OPTIONS:
            return None
        if not eq:
            if i + 1 >= len(args):
                return None
            value = args[i + 1]
            i += 1
        i += 1
        if not value or value.startswith("-"):
            return None
        kind = VALUE_OPTIONS[name]
        if kind is float:
            if not _NUMBER.fullmatch(value) or not math.isfinite(float(value)):
                return None
            number = float(value)
            if name == "--system-interval" and number < 0:
                return None
            opts[name[2:].replace("-", "_")] = number
        else:
            opts[name[2:].replace("-", "_")] = kind(value)
    return None


def fast_run(args: Sequence[str]) -> int | None:
    """Record ``CMD`` of a plain command line and return its exit code; ``None``: let Typer read it."""
    parsed = parse_plain(args)
    if parsed is None:
        return None
    opts, argv = parsed
    try:
        return record(argv, **opts)
    except RunError as exc:
        from trainboard.cli_common import fail

        fail(str(exc), code=exc.code)
        return exc.code


def record(
    argv: Sequence[str],
    *,
    name: str | None = None,
    project: str | None = None,
    url: str | None = None,
    data: Path | None = None,
    run_id: str | None = None,
    mirror: bool = True,
    flush_timeout: float = 10.0,
    system_interval: float = 5.0,
    separate_stderr: bool | None = None,
    token: str | None = None,
    parse_metrics: bool = True,
) -> int:
    """Run ``argv`` under a pseudo-terminal and record it as a run (``sdk.runner.run_command``); its exit code.
    Raises :class:`RunError` for a refused command line or a command that cannot start."""
    if not argv:
        raise RunError("no command given: trainboard run [--name N] -- CMD [ARGS...]", 2)
    from trainboard.wire import ID_RE

    if run_id is not None and not ID_RE.match(run_id):
        raise RunError(f"--run-id must be 1-64 characters of A-Z a-z 0-9 _ -, got {run_id!r}", 2)
    from trainboard.sdk.credentials import CredentialsError
    from trainboard.sdk.runner import run_command

    try:
        done = run_command(
            list(argv),
            name=name,
            project=project,
            url=url,
            data_dir=data,
            flush_timeout=flush_timeout,
            system_interval=system_interval,
            separate_stderr=streams_differ() if separate_stderr is None else separate_stderr,
            token=token,
            parse_metrics=parse_metrics,
            run_id=run_id,
            mirror=mirror,
        )
    except CredentialsError as exc:
        raise RunError(str(exc), 1) from None
    except OSError as exc:
        raise RunError(f"cannot start {argv[0]!r}: {exc.strerror or exc}", 127) from None
    return done.exit_code


def streams_differ() -> bool:
    """Whether this process's stdout and stderr go to different places (then the child's are kept
    apart too); the same terminal or file means one pseudo-terminal, so the order is exact."""
    try:
        out, err_ = os.fstat(1), os.fstat(2)
    except OSError:
        return True
    return (out.st_dev, out.st_ino, out.st_rdev) != (err_.st_dev, err_.st_ino, err_.st_rdev)
