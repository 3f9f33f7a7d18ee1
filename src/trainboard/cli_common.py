"""What the CLI's command modules share: the common options, the consoles (``--color`` sets them), errors
as one line (never a traceback), the HTTP client of the client commands (``client``, ``get``, ``resolve``)
and the checks and settings of the dashboard commands.

Command modules read ``cli_common.console`` / ``cli_common.err`` when they print (never ``from ... import
console``): ``set_color`` replaces them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from trainboard import paths
from trainboard.cli_color import ColorMode, make_console

console = Console()
err = Console(stderr=True)


def set_color(mode: ColorMode) -> None:
    """Make this command's consoles (its output and its messages on stderr) follow ``--color``."""
    global console, err
    console = make_console(mode)
    err = make_console(mode, stderr=True)


DataOpt = Annotated[
    Path | None,
    typer.Option("--data", help="Data directory [default: $TRAINBOARD_DATA or ~/.trainboard]", show_default=False),
]
DbOpt = Annotated[
    str | None,
    typer.Option(
        "--db",
        envvar="TRAINBOARD_DB",
        help="Database URL, e.g. postgresql://user@host/db [default: SQLite in the data dir]",
    ),
]
UrlOpt = Annotated[
    str | None, typer.Option("--url", envvar="TRAINBOARD_URL", help="Server URL [default: http://127.0.0.1:8000]")
]
TokenOpt = Annotated[
    str | None,
    typer.Option(
        "--token",
        help="API token for a server with authentication on [default: $TRAINBOARD_TOKEN, else the one "
        "`trainboard login URL` stored]",
        show_default=False,
    ),
]
ColorOpt = Annotated[
    ColorMode,
    typer.Option("--color", help="Colour: auto (only on a terminal), always or never", case_sensitive=False),
]
RunArg = Annotated[
    str,
    typer.Argument(
        metavar="RUN",
        help="Run id, name (the newest run with that name) or the short id `trainboard ls` prints",
        show_default=False,
    ),
]


def note(message: str) -> None:
    """A ``note:`` line on stderr (plain text)."""
    err.print(f"[yellow]note:[/yellow] {message}", highlight=False, soft_wrap=True)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``message`` (plain text, never markup) as an error; the ``typer.Exit`` to raise."""
    err.print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


#: What the dashboard needs beyond the client (the ``[server]`` extra), by import name.
SERVER_MODULES = ("fastapi", "uvicorn", "sqlalchemy", "alembic", "numpy")


def need_server(command: str, *also: str) -> None:
    """Stop ``command`` with a clear message when the ``[server]`` extra is not installed.

    ``pip install trainboard`` is the client alone (what runs beside training); the dashboard commands need
    ``pip install 'trainboard[server]'``. Checked with ``find_spec``, which imports nothing.
    """
    from importlib.util import find_spec

    missing = [name for name in (*SERVER_MODULES, *also) if find_spec(name) is None]
    if missing:
        raise fail(
            f"trainboard {command} needs the dashboard: pip install 'trainboard[server]' "
            f"(not installed: {', '.join(missing)})"
        )


def server_settings(data: Path | None, db: str | None, **kw: Any) -> Any:
    from trainboard.server.settings import Settings

    return Settings(data_dir=paths.data_dir(data), db_url=db, **kw)


def version() -> str:
    from trainboard._version import __version__

    return __version__


def safe_db(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def client(url: str | None, token: str | None, *, read_timeout: float | None = 30.0) -> Any:
    """An HTTP client for the server: the token (argument, ``$TRAINBOARD_TOKEN`` or stored), verified
    certificates, and a one-line error (exit 1) for a 401/403 answer."""
    from trainboard.cli_client import make_client
    from trainboard.sdk.credentials import resolve_token

    base = paths.server_url(url)
    return make_client(base, resolve_token(base, token), fail=fail, read_timeout=read_timeout)


def get(url: str | None, token: str | None, path: str, **params: Any) -> Any:
    """GET ``path`` as JSON; unreachable, 404 and other errors are one line (exit 1)."""
    import httpx

    from trainboard.cli_client import unreachable

    base = paths.server_url(url)
    try:
        with client(url, token) as c:
            resp = c.get(path, params={k: v for k, v in params.items() if v is not None})
    except httpx.HTTPError as exc:
        raise fail(unreachable(base, exc)) from None
    if resp.status_code == 404:
        raise fail(resp.json().get("detail", "not found"))
    if resp.status_code >= 400:
        raise fail(f"{path}: HTTP {resp.status_code}: {resp.text[:300]}")
    return resp.json()


def resolve(url: str | None, token: str | None, text: str) -> str:
    """The id of the run ``text`` names (id, name or short id); a clear error when there is none."""
    import httpx

    from trainboard.cli_client import unreachable
    from trainboard.cli_runs import resolve_run

    base = paths.server_url(url)
    try:
        with client(url, token) as c:
            return resolve_run(c, text, note=note, fail=fail).run_id
    except httpx.HTTPError as exc:
        raise fail(unreachable(base, exc)) from None
