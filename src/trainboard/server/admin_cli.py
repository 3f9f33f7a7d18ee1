"""``trainboard db``, ``trainboard user`` and ``trainboard token``: administration of the server's database.

They open the dashboard's database directly (not through a running server), so they live with the server and
need the ``[server]`` extra. ``trainboard.cli`` registers them (only when a command line names them, or for
``--help``); each command first checks for the extra with ``need_server`` (a one-line "pip install
'trainboard[server]'" otherwise) and imports the store only then. Output and command names are the CLI's
public contract (``trainboard token create`` prints the secret as the last word of its output).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from trainboard import cli_common as common
from trainboard.cli_common import DataOpt, DbOpt, fail, need_server, safe_db, server_settings

db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
user_app = typer.Typer(help="Users of the dashboard (on the server's database).", no_args_is_help=True)
token_app = typer.Typer(help="API tokens (on the server's database).", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add ``db``, ``user`` and ``token`` to ``app``."""
    app.add_typer(db_app, name="db")
    app.add_typer(user_app, name="user")
    app.add_typer(token_app, name="token")


@db_app.command("upgrade")
def db_upgrade(data: DataOpt = None, db: DbOpt = None) -> None:
    """Apply pending database migrations (the server also does this at start)."""
    need_server("db upgrade")
    settings = server_settings(data, db)
    from trainboard.server.store.engine import current_revision, make_engines, upgrade

    engines = make_engines(settings)
    try:
        before = current_revision(engines.writer)
        upgrade(engines.writer)
        after = current_revision(engines.writer)
    except Exception as exc:
        raise fail(f"cannot migrate {safe_db(settings.database_url)}: {exc}") from None
    finally:
        engines.dispose()
    if before == after:
        common.console.print(f"database is up to date (revision {after})")
    else:
        common.console.print(f"migrated {before or 'empty database'} -> {after}")


RoleOpt = Annotated[str, typer.Option("--role", help="viewer (read), editor (write runs) or admin (everything)")]
MinPasswordOpt = Annotated[
    int,
    typer.Option(min=1, envvar="TRAINBOARD_MIN_PASSWORD_LENGTH", help="Shortest password accepted (as serve's option)"),
]


def _open_store(command: str, data: Path | None, db: str | None) -> tuple[Any, Any]:
    """``(manage, engine)`` for a server-side account command: the store functions and the migrated database."""
    need_server(command)
    settings = server_settings(data, db)
    from trainboard.server.auth import manage

    try:
        return manage, manage.open_engine(settings)
    except Exception as exc:
        raise fail(f"cannot open {safe_db(settings.database_url)}: {exc}") from None


@user_app.command("add")
def user_add(
    name: Annotated[str, typer.Argument(help="User name (what the login page asks for)", show_default=False)],
    role: RoleOpt = "viewer",
    launch: Annotated[
        bool, typer.Option("--launch", help="An editor who may launch runs (serve --allow-launch); admins always may")
    ] = False,
    min_password_length: MinPasswordOpt = 12,
    data: DataOpt = None,
    db: DbOpt = None,
) -> None:
    """Create a user. The password is asked twice without echo on a terminal, else read from stdin's first line."""
    from trainboard.cli_accounts import SecretInputError, read_secret

    need_server("user add")
    try:
        password = read_secret("Password", confirm=True)
    except SecretInputError as exc:
        raise fail(str(exc)) from None
    manage, engine = _open_store("user add", data, db)
    try:
        user = manage.create_user(
            engine, name, role, password, can_launch=launch, min_password_length=min_password_length
        )
    except manage.AuthInputError as exc:
        raise fail(str(exc)) from None
    finally:
        engine.dispose()
    granted = ", may launch" if user["can_launch"] else ""
    common.console.print(f"created user {escape(user['name'])} (role {user['role']}{granted})", highlight=False)


@user_app.command("update")
def user_update(
    name: Annotated[str, typer.Argument(help="User name", show_default=False)],
    role: Annotated[
        str | None, typer.Option("--role", help="New role: viewer, editor or admin (their tokens follow at once)")
    ] = None,
    launch: Annotated[
        bool | None,
        typer.Option(
            "--launch/--no-launch",
            help="Grant or withdraw launching runs (editors; admins always may; a demotion to viewer withdraws it)",
        ),
    ] = None,
    data: DataOpt = None,
    db: DbOpt = None,
) -> None:
    """Change a user's role or launch permission; their existing tokens and sessions follow at their next request."""
    need_server("user update")
    if role is None and launch is None:
        raise fail("nothing to change: give --role and/or --launch / --no-launch", code=2)
    manage, engine = _open_store("user update", data, db)
    try:
        user = manage.update_user(engine, name, role=role, can_launch=launch)
    except manage.AuthInputError as exc:
        raise fail(str(exc)) from None
    finally:
        engine.dispose()
    may = "may launch" if user["can_launch"] or user["role"] == "admin" else "may not launch"
    common.console.print(f"user {escape(user['name'])}: role {user['role']}, {may}", highlight=False)


@user_app.command("list")
def user_list(data: DataOpt = None, db: DbOpt = None) -> None:
    """List the users and their roles."""
    from trainboard.cli_accounts import users_table

    need_server("user list")
    manage, engine = _open_store("user list", data, db)
    try:
        users = manage.list_users(engine)
    finally:
        engine.dispose()
    if not users:
        common.console.print("no users yet: the dashboard is open on loopback; `trainboard user add NAME --role admin`")
        return
    common.console.print(users_table(users))


@user_app.command("remove")
def user_remove(
    name: Annotated[str, typer.Argument(help="User name", show_default=False)],
    data: DataOpt = None,
    db: DbOpt = None,
) -> None:
    """Remove a user; their tokens are revoked and their sessions end at once."""
    need_server("user remove")
    manage, engine = _open_store("user remove", data, db)
    try:
        manage.remove_user(engine, name)
    except manage.AuthInputError as exc:
        raise fail(str(exc)) from None
    finally:
        engine.dispose()
    common.console.print(f"removed user {escape(name)} (their tokens are revoked)", highlight=False)


@token_app.command("create")
def token_create(
    name: Annotated[str, typer.Option("--name", help="What the token is for, e.g. ci or gpu-box", show_default=False)],
    scope: Annotated[
        str,
        typer.Option(
            "--scope",
            help="read, write, admin or launch (launching runs: for admins and users granted launch); a user's "
            "token acts with at most the user's current role",
        ),
    ] = "write",
    expires: Annotated[
        str | None, typer.Option("--expires", help="Lifetime such as 30d, 12h or 2w [default: never expires]")
    ] = None,
    user: Annotated[
        str | None, typer.Option("--user", help="The user it acts for [default: a service token of its own]")
    ] = None,
    run: Annotated[
        str | None,
        typer.Option("--run", help="Run id: a run-scoped write token that may only write to that run"),
    ] = None,
    data: DataOpt = None,
    db: DbOpt = None,
) -> None:
    """Create an API token. It is printed once, as the last word of the output: store it now."""
    from trainboard.cli_accounts import parse_duration

    need_server("token create")
    try:
        expires_in = parse_duration(expires) if expires is not None else None
    except ValueError as exc:
        raise fail(f"--expires: {exc}", code=2) from None
    manage, engine = _open_store("token create", data, db)
    try:
        record, secret = manage.create_token(
            engine, name=name, scope=scope, user=user, expires_in=expires_in, run_id=run
        )
    except manage.AuthInputError as exc:
        raise fail(str(exc)) from None
    finally:
        engine.dispose()
    common.note(
        f"token {record['id']} {record['name']!r} (scope {record['scope']}"
        + (f", run {record['run_id']}" if record.get("run_id") else "")
        + (f", user {record['user']}" if record.get("user") else ", service token")
        + ("" if record.get("expires_at") is None else f", expires {_when(record['expires_at'])}")
        + "): shown only now, it is stored hashed"
    )
    sys.stdout.write(f"{secret}\n")
    sys.stdout.flush()


def _when(epoch: float) -> str:
    from trainboard.cli_accounts import when

    return when(epoch) + " UTC"


@token_app.command("list")
def token_list(
    user: Annotated[str | None, typer.Option("--user", help="Only this user's tokens")] = None,
    data: DataOpt = None,
    db: DbOpt = None,
) -> None:
    """List tokens (never their secrets): scope, user, run, created, expiry, last use, revoked."""
    from trainboard.cli_accounts import tokens_table

    need_server("token list")
    manage, engine = _open_store("token list", data, db)
    try:
        tokens = manage.list_tokens(engine, user=user)
    except manage.AuthInputError as exc:
        raise fail(str(exc)) from None
    finally:
        engine.dispose()
    if not tokens:
        common.console.print("no tokens yet: `trainboard token create --name NAME --scope write`")
        return
    common.console.print(tokens_table(tokens))


@token_app.command("revoke")
def token_revoke(
    token_id: Annotated[int, typer.Argument(metavar="ID", help="The token's id (`trainboard token list`)")],
    data: DataOpt = None,
    db: DbOpt = None,
) -> None:
    """Revoke a token: it stops working at once, also on open streams."""
    need_server("token revoke")
    manage, engine = _open_store("token revoke", data, db)
    try:
        manage.revoke_token(engine, token_id)
    except manage.AuthInputError as exc:
        raise fail(str(exc)) from None
    finally:
        engine.dispose()
    common.console.print(f"revoked token {token_id}", highlight=False)
