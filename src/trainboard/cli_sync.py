"""``trainboard sync``: upload the journals that processes left in the spool (and, on request, dead letters);
``--list`` shows what is left and the server each journal belongs to. The upload itself is ``sdk/sync.py``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from trainboard import cli_common as common
from trainboard import paths
from trainboard.cli_common import DataOpt, TokenOpt, UrlOpt, fail


def register(app: typer.Typer) -> None:
    """Add ``sync`` to ``app``."""
    app.command()(sync)


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
        common.console.print(f"nothing to sync in {root}")
        _note_dead_letters(root)
        return
    from trainboard.sdk.credentials import CredentialsError, resolve_token

    base = paths.server_url(to or url)
    try:
        transport = Transport(base, token=resolve_token(base, token))
    except CredentialsError as exc:
        raise fail(str(exc)) from None
    with Progress(
        TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TimeRemainingColumn(), console=common.err
    ) as progress:
        task = progress.add_task("uploading", total=None)

        def advance(run: str, n: int) -> None:
            progress.update(task, description=f"run {run}", advance=n)

        report = upload(
            root, transport, retry_dead_letters=retry_dead_letters, on_progress=advance, to_any_server=to is not None
        )
    transport.close()
    for torn_path, n in report.torn:
        common.err.print(
            f"dropped a torn last entry ({n} bytes) of {torn_path}: its process was killed mid-write", highlight=False
        )
    for line in report.dead:
        common.err.print(f"[yellow]not taken by the server, kept as a dead letter:[/yellow] {line}", highlight=False)
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
    common.console.print(
        f"synced {report.journals} journal(s), {report.bytes} bytes to {transport.base_url}{resent}{note}",
        soft_wrap=True,
    )
    if report.elsewhere:
        servers = sorted({server for _path, server in report.elsewhere})
        common.err.print(
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
        common.console.print(f"nothing to sync in {root}")
        return
    for info in journals:
        server = info.server or "(server not recorded: goes to the server `trainboard sync` is given)"
        common.console.print(
            f"{info.run_id}\t{info.pending} bytes\t{server}\t{info.path}", highlight=False, soft_wrap=True
        )
    common.console.print(f"{len(journals)} journal(s) not uploaded yet", highlight=False)


def _note_dead_letters(root: Path) -> None:
    from trainboard.sdk import deadletter

    kept = sum(len(deadletter.read(f)) for f in deadletter.find(root))
    if kept:
        common.err.print(
            f"{kept} dead letter(s) kept under {root}; `trainboard sync --retry-dead-letters` sends them again",
            highlight=False,
        )
