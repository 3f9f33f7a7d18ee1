"""The ``trainboard`` command line (Typer + Rich): the entry point and the list of commands.

Each command lives in a module of its own kind — the dashboard (``cli_serve``: serve, demo), accounts on a client
(``cli_accounts``: login, logout), reading runs (``cli_query``: ls, logs, export), ``cli_sync``, ``cli_run`` (with
``cli_record``), ``cli_launch``, ``cli_import_commands`` and the server's database administration
(``trainboard.server.admin_cli``: db, user, token, with the server because it opens the server's database). A
command line loads only the module of the command it names (every module for ``--help``), and
``trainboard run [OPTIONS] -- CMD`` is read without Typer at all (``cli_record.fast_run``), so the command
that wraps every training script starts fast. The server is imported only by the commands that run it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import typer

Register = Callable[["typer.Typer"], None]


def _serve(app: typer.Typer) -> None:
    from trainboard import cli_serve

    cli_serve.register(app)


def _accounts(app: typer.Typer) -> None:
    from trainboard import cli_accounts

    cli_accounts.register(app)


def _query(name: str) -> Register:
    def register(app: typer.Typer) -> None:
        from trainboard import cli_query

        cli_query.register(app, name)

    return register


def _sync(app: typer.Typer) -> None:
    from trainboard import cli_sync

    cli_sync.register(app)


def _run(app: typer.Typer) -> None:
    from trainboard import cli_run

    cli_run.register(app)


def _launch(app: typer.Typer) -> None:
    from trainboard import cli_common as common
    from trainboard import cli_launch

    cli_launch.register(app, fail=common.fail, client=common.client, resolve=common.resolve, err=common.err)


def _admin(app: typer.Typer) -> None:
    from trainboard.server.admin_cli import register

    register(app)


def _alerts(app: typer.Typer) -> None:
    from trainboard import cli_alerts

    cli_alerts.register(app)


def _bookmarks(app: typer.Typer) -> None:
    from trainboard import cli_bookmarks

    cli_bookmarks.register(app)


def _plugins(app: typer.Typer) -> None:
    from trainboard import cli_plugins

    cli_plugins.register(app)


def _imports(app: typer.Typer) -> None:
    from trainboard import cli_import_commands

    cli_import_commands.register(app)
    from trainboard import cli_plugins

    cli_plugins.register_importers(cli_import_commands.import_app)


#: Every command (or group) and what adds it, in ``trainboard --help``'s order (commands, then groups).
COMMANDS: tuple[tuple[tuple[str, ...], Register], ...] = (
    (("serve", "demo"), _serve),
    (("login", "logout"), _accounts),
    (("ls",), _query("ls")),
    (("sync",), _sync),
    (("export",), _query("export")),
    (("run",), _run),
    (("logs",), _query("logs")),
    (("launch", "cancel"), _launch),
    (("db", "user", "token"), _admin),
    (("import",), _imports),
    (("alert",), _alerts),
    (("plugins",), _plugins),
    (("bookmark",), _bookmarks),
)


def build_app(args: Sequence[str] = ()) -> typer.Typer:
    """The Typer app with the command ``args`` names (``args`` as after ``trainboard``), or with every
    command when it names none of them (``--help``, nothing, a mistyped name: Typer lists them all)."""
    import typer

    app = typer.Typer(
        name="trainboard",
        help="A self-hosted, real-time dashboard for ML training runs.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )
    app.callback()(_group)  # a group even with one command added (Typer would make that command the app)
    named = args[0] if args else None
    chosen = [register for names, register in COMMANDS if named in names]
    for register in chosen or [register for _names, register in COMMANDS]:
        register(app)
    return app


def _group() -> None:
    """(The group's own callback: nothing to do before a command.)"""


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point."""
    args = list(sys.argv[1:] if argv is None else argv)
    # httpx imports its own command line (click, rich, pygments) when it can; this process never uses it
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
    try:
        if args[:1] == ["run"]:
            from trainboard.cli_record import fast_run

            code = fast_run(args[1:])
            if code is not None:
                sys.exit(code)
        build_app(args)(args=args)
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":  # pragma: no cover
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
