"""What the CLI's command modules share: the common options, the consoles (``--color`` sets them), errors
as one line (never a traceback) and the checks and settings of the dashboard commands."""

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
