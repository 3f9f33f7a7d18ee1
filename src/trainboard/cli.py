"""The ``trainboard`` command line (Typer + Rich). The server is imported lazily, only by the
commands that run it, so client commands start fast."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from trainboard import cli_common as common
from trainboard import cli_serve, paths
from trainboard.cli_color import ColorMode
from trainboard.cli_common import (
    ColorOpt,
    DataOpt,
    DbOpt,
    RunArg,
    TokenOpt,
    UrlOpt,
    fail,
    need_server,
    safe_db,
    server_settings,
)

app = typer.Typer(
    name="trainboard",
    help="A self-hosted, real-time dashboard for ML training runs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
app.add_typer(db_app, name="db")
user_app = typer.Typer(help="Users of the dashboard (on the server's database).", no_args_is_help=True)
app.add_typer(user_app, name="user")
token_app = typer.Typer(help="API tokens (on the server's database).", no_args_is_help=True)
app.add_typer(token_app, name="token")
import_app = typer.Typer(help="Import runs from other tools into the running server.", no_args_is_help=True)
app.add_typer(import_app, name="import")
cli_serve.register(app)

console = common.console
err = common.err


def _set_color(mode: ColorMode) -> None:
    """Make this command's consoles (its output and its messages on stderr) follow ``--color``."""
    global console, err
    common.set_color(mode)
    console, err = common.console, common.err


def _note(message: str) -> None:
    err.print(f"[yellow]note:[/yellow] {message}", highlight=False, soft_wrap=True)


def _resolve(url: str | None, token: str | None, text: str) -> str:
    """The id of the run ``text`` names (id, name or short id); a clear error when there is none."""
    import httpx

    from trainboard.cli_client import unreachable
    from trainboard.cli_runs import resolve_run

    base = paths.server_url(url)
    try:
        with _client(url, token) as client:
            return resolve_run(client, text, note=_note, fail=fail).run_id
    except httpx.HTTPError as exc:
        raise fail(unreachable(base, exc)) from None


@app.command()
def demo(
    port: Annotated[int, typer.Option(min=0, max=65535)] = 8000,
    host: Annotated[str, typer.Option(help="Interface to bind")] = "127.0.0.1",
    data: DataOpt = None,
    once: Annotated[
        bool, typer.Option("--once", help="Run each demo run once, then only serve (default: again and again)")
    ] = False,
    loop: Annotated[bool, typer.Option("--loop", hidden=True, help="The default now; kept for old scripts")] = False,
    scale: Annotated[
        float, typer.Option("--scale", hidden=True, min=0.001, max=100.0, help="Steps per epoch, times this")
    ] = 1.0,
    color: ColorOpt = ColorMode.AUTO,
) -> None:
    """Serve the dashboard on the embedded default (SQLite) and keep synthetic training runs going live
    until Ctrl-C, each starting again when it ends (tqdm bars, ANSI colours, metrics, checkpoints, warnings,
    and a run whose 10x learning rate makes it diverge), printing the URL and what happens."""
    _set_color(color)
    need_server("demo", "tqdm")
    settings = server_settings(data, None, host=host, port=port)
    from trainboard.demo.runner import run_demo

    raise typer.Exit(run_demo(settings, once=once and not loop, console=err, scale=scale))


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
        console.print(f"database is up to date (revision {after})")
    else:
        console.print(f"migrated {before or 'empty database'} -> {after}")


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
    console.print(f"created user {escape(user['name'])} (role {user['role']}{granted})", highlight=False)


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
    console.print(f"user {escape(user['name'])}: role {user['role']}, {may}", highlight=False)


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
        console.print("no users yet: the dashboard is open on loopback; `trainboard user add NAME --role admin`")
        return
    console.print(users_table(users))


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
    console.print(f"removed user {escape(name)} (their tokens are revoked)", highlight=False)


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
    _note(
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
        console.print("no tokens yet: `trainboard token create --name NAME --scope write`")
        return
    console.print(tokens_table(tokens))


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
    console.print(f"revoked token {token_id}", highlight=False)


@app.command()
def login(
    url: Annotated[str, typer.Argument(help="The dashboard's URL, e.g. https://dash.example.com", show_default=False)],
) -> None:
    """Store an API token for URL (asked without echo, or read from stdin), checked against the server first.

    Kept in ~/.config/trainboard/credentials.json ($TRAINBOARD_CONFIG_DIR overrides the folder), readable only
    by you; the SDK and the CLI use it for that URL when no --token / $TRAINBOARD_TOKEN is given."""
    import httpx

    from trainboard.cli_accounts import SecretInputError, read_secret
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
        _note(f"{base} has authentication off; the token is stored for when it is on")
    elif who:
        console.print(f"logged in to {base} as {escape(str(who.get('name')))} ({who.get('role')})", highlight=False)
    else:
        console.print(f"logged in to {base} with a service token", highlight=False)
    console.print(f"token stored in {where} (readable only by you)", highlight=False)


@app.command()
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
    console.print(f"forgot the token for {base}" if removed else f"no token was stored for {base}", highlight=False)


def _client(url: str | None, token: str | None, *, read_timeout: float | None = 30.0) -> Any:
    """An HTTP client for the server: the token (argument, ``$TRAINBOARD_TOKEN`` or stored), verified
    certificates, and a one-line error (exit 1) for a 401/403 answer."""
    from trainboard.cli_client import make_client
    from trainboard.sdk.credentials import resolve_token

    base = paths.server_url(url)
    return make_client(base, resolve_token(base, token), fail=fail, read_timeout=read_timeout)


def _get(url: str | None, token: str | None, path: str, **params: Any) -> Any:
    import httpx

    from trainboard.cli_client import unreachable

    base = paths.server_url(url)
    try:
        with _client(url, token) as c:
            resp = c.get(path, params={k: v for k, v in params.items() if v is not None})
    except httpx.HTTPError as exc:
        raise fail(unreachable(base, exc)) from None
    if resp.status_code == 404:
        raise fail(resp.json().get("detail", "not found"))
    if resp.status_code >= 400:
        raise fail(f"{path}: HTTP {resp.status_code}: {resp.text[:300]}")
    return resp.json()


STATUS_STYLE = {
    "queued": ("◌ QUEUED", "cyan"),
    "running": ("● RUNNING", "green"),
    "completed": ("✓ COMPLETED", "green"),
    "failed": ("✗ FAILED", "red"),
    "interrupted": ("◌ INTERRUPTED", "yellow"),
}


@app.command("ls")
def list_runs(
    url: UrlOpt = None,
    status: Annotated[str | None, typer.Option(help="queued, running, completed, failed or interrupted")] = None,
    project: Annotated[str | None, typer.Option()] = None,
    limit: Annotated[
        int, typer.Option(min=1, max=1000, help="How many runs to list (the title says of how many)")
    ] = 50,
    all_: Annotated[bool, typer.Option("--all", help="List every matching run (fetched in pages of 1,000)")] = False,
    filter_: Annotated[
        str | None, typer.Option("--filter", help="The runs table's filter, e.g. 'config.lr < 1e-3 and val/loss < 0.5'")
    ] = None,
    sort: Annotated[str | None, typer.Option(help="A field, '-' first for descending: -val/acc, config.lr")] = None,
    wide: Annotated[bool, typer.Option("--wide", "-w", help="Full run ids (short ones otherwise)")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table")] = False,
    color: ColorOpt = ColorMode.AUTO,
    token: TokenOpt = None,
) -> None:
    """List runs, newest first (or in --sort's order, with the sort key's column; --filter: only those it
    matches). The title says how many are shown of how many match. Names are printed in full (wrapped when the
    terminal is narrow); ids are shortened unless --wide, and any command taking a RUN accepts the short id, the
    full id or the name."""
    import httpx

    from trainboard.cli_client import unreachable
    from trainboard.cli_runs import list_all, list_page, runs_table, sort_column

    _set_color(color)
    column = sort_column(sort)
    query: dict[str, Any] = {"status": status, "project": project, "filter": filter_, "sort": sort}
    if column is not None and column.kind == "metric":
        query["summary"] = column.key  # the sorted metric's value, for its column
    try:
        with _client(url, token) as c:
            data = list_all(c, fail=fail, **query) if all_ else list_page(c, fail=fail, limit=limit, **query)
    except httpx.HTTPError as exc:
        raise fail(unreachable(paths.server_url(url), exc)) from None
    if as_json:
        console.print_json(json.dumps(data))
        return
    if not data["runs"]:
        console.print("no runs yet — start one with `trainboard demo` or the SDK (see the README)")
        return
    table = runs_table(
        data["runs"], total=data.get("total"), wide=wide, status_style=STATUS_STYLE, console=console, sort=sort
    )
    console.print(table)


@app.command()
def sync(
    path: Annotated[
        Path | None,
        typer.Argument(
            help="A spool directory, a run's spool folder or one journal [default: the data directory's spool]"
        ),
    ] = None,
    url: UrlOpt = None,
    data: DataOpt = None,
    retry_dead_letters: Annotated[
        bool,
        typer.Option(
            "--retry-dead-letters",
            help="Also send again the requests the server refused or kept failing on (kept in *.dead.jsonl)",
        ),
    ] = False,
    token: TokenOpt = None,
    list_only: Annotated[
        bool,
        typer.Option("--list", help="List the journals not uploaded yet and the server each belongs to; send nothing"),
    ] = False,
    to: Annotated[
        str | None,
        typer.Option(
            "--to",
            help="Send every journal to this server, also those recorded for another one (by default a journal "
            "goes only to the server it was written for)",
        ),
    ] = None,
) -> None:
    """Upload runs spooled while the server was unreachable.

    Each journal goes only to the server it was written for; another server's journals are listed by
    ``--list`` and sent with an explicit ``--to URL``. Journals written by an older SDK (no server recorded)
    go to the server given here."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

    from trainboard.sdk import deadletter
    from trainboard.sdk.sync import journals_under
    from trainboard.sdk.sync import sync as upload
    from trainboard.sdk.transport import Transport

    root = path.resolve() if path else paths.spool_dir(paths.data_dir(data))
    if not root.exists():
        raise fail(f"{root} does not exist")
    if list_only:
        _list_journals(root)
        return
    if not journals_under(root) and not (retry_dead_letters and any(deadletter.find(root))):
        console.print(f"nothing to sync in {root}")
        _note_dead_letters(root)
        return
    from trainboard.sdk.credentials import CredentialsError, resolve_token

    base = paths.server_url(to or url)
    try:
        transport = Transport(base, token=resolve_token(base, token))
    except CredentialsError as exc:
        raise fail(str(exc)) from None
    with Progress(
        TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TimeRemainingColumn(), console=err
    ) as progress:
        task = progress.add_task("uploading", total=None)

        def advance(run: str, n: int) -> None:
            progress.update(task, description=f"run {run}", advance=n)

        report = upload(
            root, transport, retry_dead_letters=retry_dead_letters, on_progress=advance, to_any_server=to is not None
        )
    transport.close()
    for torn_path, n in report.torn:
        err.print(
            f"dropped a torn last entry ({n} bytes) of {torn_path}: its process was killed mid-write", highlight=False
        )
    for line in report.dead:
        err.print(f"[yellow]not taken by the server, kept as a dead letter:[/yellow] {line}", highlight=False)
    if report.denied is not None:
        raise fail(
            f"{transport.denied_message(report.denied)}; nothing was lost, run `trainboard sync --token TOKEN` "
            "with a token that may write runs"
        )
    if report.unreachable is not None:
        raise fail(
            f"cannot reach {transport.base_url}: {report.unreachable.detail or report.unreachable.status}; nothing "
            "was lost, run `trainboard sync` again once the server is up"
        )
    note = f" ({report.busy} journal(s) skipped: still in use by a running process)" if report.busy else ""
    resent = f", {report.resent} dead letter(s) sent again" if retry_dead_letters else ""
    console.print(
        f"synced {report.journals} journal(s), {report.bytes} bytes to {transport.base_url}{resent}{note}",
        soft_wrap=True,
    )
    if report.elsewhere:
        servers = sorted({server for _path, server in report.elsewhere})
        err.print(
            f"{len(report.elsewhere)} journal(s) belong to another server ({', '.join(servers)}) and were not sent; "
            "`trainboard sync --list` shows them, `trainboard sync --to URL` sends them",
            highlight=False,
            soft_wrap=True,
        )
    _note_dead_letters(root)


def _list_journals(root: Path) -> None:
    from trainboard.sdk.sync import list_journals

    journals = list_journals(root)
    if not journals:
        console.print(f"nothing to sync in {root}")
        return
    for info in journals:
        server = info.server or "(server not recorded: goes to the server `trainboard sync` is given)"
        console.print(f"{info.run_id}\t{info.pending} bytes\t{server}\t{info.path}", highlight=False, soft_wrap=True)
    console.print(f"{len(journals)} journal(s) not uploaded yet", highlight=False)


def _note_dead_letters(root: Path) -> None:
    from trainboard.sdk import deadletter

    kept = sum(len(deadletter.read(f)) for f in deadletter.find(root))
    if kept:
        err.print(
            f"{kept} dead letter(s) kept under {root}; `trainboard sync --retry-dead-letters` sends them again",
            highlight=False,
        )


@app.command()
def export(
    run: RunArg,
    fmt: Annotated[str, typer.Option("--format", help="csv, json, parquet or tensorboard")] = "csv",
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="File to write [default: stdout]; required for parquet (a file) and tensorboard (a folder, "
            "where an event file is written)",
        ),
    ] = None,
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """Write a run's metrics (every point, no downsampling) as CSV (step,key,value,timestamp), JSON, Parquet
    (same columns; needs pyarrow) or a TensorBoard event file (needs tensorboard)."""
    from importlib.util import find_spec

    from trainboard import cli_export

    if fmt not in cli_export.FORMATS:
        raise fail(f"--format must be one of {', '.join(cli_export.FORMATS)}, got {fmt!r}", code=2)
    if fmt in cli_export.NEEDS:
        module, extra = cli_export.NEEDS[fmt]
        if output is None:
            raise fail(f"--format {fmt} needs --output (-o) {'FOLDER' if fmt == 'tensorboard' else 'FILE'}", code=2)
        if find_spec(module) is None:
            raise fail(f"--format {fmt} needs {module}: pip install 'trainboard[{extra}]'")
    data = _get(url, token, f"/api/runs/{_resolve(url, token, run)}/metrics")
    if fmt == "parquet" and output is not None:
        cli_export.write_parquet(data, output)
        return
    if fmt == "tensorboard" and output is not None:
        written = cli_export.write_tensorboard(data, output)
        err.print(f"wrote {written}", highlight=False, soft_wrap=True)
        return
    out = open(output, "w", newline="") if output else sys.stdout  # noqa: SIM115
    try:
        (cli_export.write_json if fmt == "json" else cli_export.write_csv)(data, out)
    finally:
        if output:
            out.close()


@import_app.command("tensorboard")
def import_tensorboard(
    logdir: Annotated[Path, typer.Argument(help="A TensorBoard log directory (searched recursively)")],
    project: Annotated[str, typer.Option("--project", help="Project of the imported runs")] = "default",
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """Import every scalar (step, wall time) of a TensorBoard log directory: one run per folder holding event
    files. Sent to the running server; importing the same directory again adds nothing. What is not imported
    (histograms, images, text, ...) is counted per run."""
    _need_reader("tensorboard", "pip install 'trainboard[tensorboard]'")
    from trainboard.importers.tensorboard import read_logdir

    if not logdir.is_dir():
        raise fail(f"{logdir} is not a directory", code=2)
    _import_runs(read_logdir(logdir), url, token, project, what=f"TensorBoard event files under {logdir}")


@import_app.command("wandb")
def import_wandb(
    path: Annotated[
        Path, typer.Argument(help="An offline wandb run directory (wandb/offline-run-*), a .wandb file or a folder")
    ],
    project: Annotated[
        str | None, typer.Option("--project", help="Project of the imported runs [default: the wandb project]")
    ] = None,
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """Import offline or synced wandb run directories (history with steps and times, config, summary, tags,
    notes, exit code), read with wandb's own log reader (needs wandb installed). Importing the same run again
    adds nothing. What is not imported (media, tables, histograms, text values) is counted per run."""
    _need_reader("wandb", "pip install wandb")
    from trainboard.importers.wandb import read_path

    if not path.exists():
        raise fail(f"{path} does not exist", code=2)
    _import_runs(read_path(path), url, token, project, what=f".wandb run files under {path}")


@import_app.command("mlflow")
def import_mlflow(
    source: Annotated[
        str, typer.Argument(help="An mlruns directory (MLflow's file store) or a tracking server's URL (http://...)")
    ],
    project: Annotated[
        str | None, typer.Option("--project", help="Project of the imported runs [default: the MLflow experiment]")
    ] = None,
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """Import MLflow runs (params as config, every metric point with its step and timestamp, tags, notes, status,
    start time) from an mlruns directory, read directly, or through a tracking server's REST API. Importing the
    same runs again adds nothing. What is not imported (artifacts, logged models, dataset inputs, deleted runs) is
    counted."""
    from trainboard.cli_import import left_out_line, mlflow_runs
    from trainboard.importers.mlflow import LeftOut
    from trainboard.importers.mlflow_rest import MlflowServerError

    if not source.startswith(("http://", "https://", "file:")) and not Path(source).is_dir():
        raise fail(f"{source} is not a directory (an mlruns folder) or an http(s):// URL", code=2)
    left_out = LeftOut()
    try:
        _import_runs(mlflow_runs(source, left_out), url, token, project, what=f"MLflow runs in {source}")
    except MlflowServerError as exc:
        raise fail(str(exc)) from None
    if line := left_out_line(left_out.counts):
        console.print(line, highlight=False, soft_wrap=True)


@import_app.command("neptune")
def import_neptune(
    path: Annotated[Path, typer.Argument(help="neptune-exporter's --data-path (or one .parquet file)")],
    project: Annotated[
        str | None, typer.Option("--project", help="Project of the imported runs [default: the Neptune project]")
    ] = None,
    step_multiplier: Annotated[
        int, typer.Option(min=1, help="Multiplies Neptune's decimal steps into integers (as the exporter's loaders)")
    ] = 1,
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """Import the Parquet files neptune-exporter wrote: float series as metrics (steps and times), single values
    as config, tags, description, failed state, creation time. Importing the same files again adds nothing. What
    is not imported (text series, histograms, files, points at fractional steps) is counted per run."""
    _need_reader("pyarrow", "pip install 'trainboard[parquet]'")
    from collections import Counter

    from trainboard.cli_import import left_out_line
    from trainboard.importers.neptune import read_exports

    if not path.exists():
        raise fail(f"{path} does not exist", code=2)
    left_out: Counter[str] = Counter()
    runs = read_exports(path, step_multiplier=step_multiplier, left_out=left_out)
    _import_runs(runs, url, token, project, what=f"neptune-exporter Parquet files under {path}")
    if line := left_out_line(left_out):
        console.print(line, highlight=False, soft_wrap=True)


def _need_reader(module: str, how: str) -> None:
    """``trainboard import`` reads through the tool's own library: a clear line when it is not installed."""
    from importlib.util import find_spec

    if find_spec(module) is None:
        raise fail(f"trainboard import {module} reads with the {module} package, which is not installed: {how}")


def _import_runs(runs: Any, url: str | None, token: str | None, project: str | None, *, what: str) -> None:
    import httpx

    from trainboard.cli_client import unreachable
    from trainboard.cli_import import import_runs

    base = paths.server_url(url)
    count = 0
    try:
        with _client(url, token) as client:
            count = import_runs(
                client,
                runs,
                project=project,
                fail=fail,
                echo=lambda line: console.print(line, highlight=False, soft_wrap=True),
            )
    except httpx.HTTPError as exc:
        raise fail(unreachable(base, exc)) from None
    if count == 0:
        raise fail(f"no {what}")


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def run(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Option("--name", help="Run name [default: the command's name]")] = None,
    project: Annotated[str | None, typer.Option("--project", help="Project [default: default]")] = None,
    url: UrlOpt = None,
    data: DataOpt = None,
    run_id: Annotated[
        str | None,
        typer.Option(
            "--run-id",
            help="Record into this existing run (created beforehand, e.g. by `trainboard launch`: it turns "
            "from queued to running) [default: a new run]",
        ),
    ] = None,
    mirror: Annotated[
        bool,
        typer.Option(
            "--mirror/--no-mirror",
            help="Echo CMD's output on this terminal, or only record it (a job started by a server has no terminal)",
        ),
    ] = True,
    flush_timeout: Annotated[
        float,
        typer.Option(
            help="Seconds the end waits without upload progress (it goes on while the upload makes progress, "
            "300 s at most in all; what is left stays spooled for `trainboard sync`)"
        ),
    ] = 10.0,
    system_interval: Annotated[
        float,
        typer.Option(
            min=0.0,
            help="Seconds between system samples (CPU, RAM, the command's RSS, disk, network, GPUs); 0 turns them off",
        ),
    ] = 5.0,
    separate_stderr: Annotated[
        bool | None,
        typer.Option(
            "--separate-stderr/--merge-stderr",
            help="Keep stderr apart on its own pseudo-terminal, or merge it with stdout on one (exact order, as "
            "a terminal shows it) [default: merged when this command's stdout and stderr are the same terminal "
            "or file, else separate]",
            show_default=False,
        ),
    ] = None,
    token: TokenOpt = None,
    parse_metrics: Annotated[
        bool,
        typer.Option(
            "--parse-metrics/--no-parse-metrics",
            help="Turn the metric reports CMD prints (HF Trainer log dicts, Keras epoch lines, tqdm postfixes that "
            "name a step, key=value lines; never banners, tables or tracebacks) and the TensorBoard event files it "
            "writes under the working directory into metrics; parsed keys are listed in the run's config under "
            "trainboard.parsed_keys with their printed digits (trainboard.parsed_digits) and never override what "
            "its SDK logs",
        ),
    ] = True,
) -> None:
    """Run CMD under a pseudo-terminal, mirror its output unchanged and record it as a run.

    Usage: trainboard run [--name N] [--project P] -- CMD [ARGS...]. Exits with CMD's exit code.
    """
    argv = list(ctx.args)
    if argv[:1] == ["--"]:
        argv = argv[1:]
    if not argv:
        raise fail("no command given: trainboard run [--name N] -- CMD [ARGS...]", code=2)
    from trainboard.sdk.credentials import CredentialsError
    from trainboard.sdk.runner import run_command
    from trainboard.wire import ID_RE

    if run_id is not None and not ID_RE.match(run_id):
        raise fail(f"--run-id must be 1-64 characters of A-Z a-z 0-9 _ -, got {run_id!r}", code=2)

    try:
        done = run_command(
            argv,
            name=name,
            project=project,
            url=url,
            data_dir=data,
            flush_timeout=flush_timeout,
            system_interval=system_interval,
            separate_stderr=_streams_differ() if separate_stderr is None else separate_stderr,
            token=token,
            parse_metrics=parse_metrics,
            run_id=run_id,
            mirror=mirror,
        )
    except CredentialsError as exc:
        raise fail(str(exc)) from None
    except OSError as exc:
        raise fail(f"cannot start {argv[0]!r}: {exc.strerror or exc}", code=127) from None
    raise typer.Exit(done.exit_code)


@app.command()
def logs(
    run: RunArg,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Stream live output until the run ends, then exit with its exit code")
    ] = False,
    level: Annotated[
        str | None,
        typer.Option(
            help="Print indexed lines at this level or above instead of "
            "raw bytes (debug, info, warning, error, critical)"
        ),
    ] = None,
    grep: Annotated[str | None, typer.Option(help="Print indexed lines containing TEXT (case-insensitive)")] = None,
    source: Annotated[str | None, typer.Option(help="With --level/--grep: stdout, stderr, sdk or user")] = None,
    url: UrlOpt = None,
    color: Annotated[
        ColorMode,
        typer.Option(
            "--color",
            case_sensitive=False,
            help="Colour of the matching lines: auto (only on a terminal), always or never. Raw output is "
            "the recording byte for byte (colours included) unless never, which removes its colour codes",
        ),
    ] = ColorMode.AUTO,
    token: TokenOpt = None,
) -> None:
    """Print a run's raw terminal output (bars render as they did), or its matching lines."""
    import httpx

    from trainboard.cli_client import unreachable
    from trainboard.cli_color import use_color
    from trainboard.cli_logs import follow_raw, print_lines, print_raw
    from trainboard.cli_runs import resolve_run

    _set_color(color)
    base = paths.server_url(url)
    strip = color is ColorMode.NEVER
    try:
        with _client(url, token, read_timeout=None) as client:
            run_id = resolve_run(client, run, note=_note, fail=fail).run_id
            if level or grep or source:
                colored = use_color(color, sys.stdout)
                print_lines(client, run_id, level=level, grep=grep, source=source, color=colored, fail=fail)
                return
            if follow:
                raise typer.Exit(follow_raw(client, run_id, strip_color=strip, fail=fail))
            print_raw(client, run_id, strip_color=strip, fail=fail)
    except httpx.HTTPError as exc:
        raise fail(unreachable(base, exc)) from None


def _streams_differ() -> bool:
    """Whether this process's stdout and stderr go to different places (then the child's are kept
    apart too); the same terminal or file means one pseudo-terminal, so the order is exact."""
    try:
        out, err_ = os.fstat(1), os.fstat(2)
    except OSError:
        return True
    return (out.st_dev, out.st_ino, out.st_rdev) != (err_.st_dev, err_.st_ino, err_.st_rdev)


def _register_launch() -> None:
    """``trainboard launch`` and ``trainboard cancel`` (``cli_launch``), with this module's error and client."""
    from trainboard import cli_launch

    cli_launch.register(app, fail=fail, client=_client, resolve=_resolve, err=err)


_register_launch()


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":  # pragma: no cover
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
