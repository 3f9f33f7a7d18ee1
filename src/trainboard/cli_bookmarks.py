"""``trainboard bookmark add|list``: a run's log bookmarks (a line, a byte offset or a moment, with a note) and
their permalinks, through the server's HTTP API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import typer

from trainboard import cli_common as common
from trainboard import paths
from trainboard.cli_common import TokenOpt, UrlOpt, fail

bookmark_app = typer.Typer(help="Log bookmarks: a line, byte offset or moment of a run, with a note and a link.")


def register(app: typer.Typer) -> None:
    """Add the ``bookmark`` group to ``app``."""
    app.add_typer(bookmark_app, name="bookmark")


def _text(text: str) -> str:
    """A note as one terminal line: control characters (escape sequences, newlines, tabs) shown as spaces."""
    return "".join(ch if ch.isprintable() else " " for ch in text)


def _place(b: dict[str, Any]) -> str:
    if b.get("line_number") is not None:
        return f"line {b['line_number']}"
    if b.get("offset") is not None:
        return f"byte {b['offset']}"
    return datetime.fromtimestamp(b["time"]).isoformat(timespec="seconds") if b.get("time") is not None else "-"


def _post(url: str | None, token: str | None, path: str, body: dict[str, Any]) -> Any:
    import httpx

    from trainboard.cli_client import unreachable
    from trainboard.sdk.transport import response_detail

    try:
        with common.client(url, token) as c:
            resp = c.post(path, json=body)
    except httpx.HTTPError as exc:
        raise fail(unreachable(paths.server_url(url), exc)) from None
    if resp.status_code >= 400:
        raise fail(f"bookmark not added: {response_detail(resp)}")
    return resp.json()


@bookmark_app.command("add")
def add(
    run: Annotated[str, typer.Argument(help="The run (id or name)")],
    line: Annotated[int | None, typer.Option("--line", min=0, help="A line number (as LINES shows it)")] = None,
    offset: Annotated[int | None, typer.Option("--offset", min=0, help="A byte offset of the raw log")] = None,
    at: Annotated[float | None, typer.Option("--time", help="A moment, epoch seconds")] = None,
    note: Annotated[str, typer.Option("--note", help="Free text (2,000 characters at most)")] = "",
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """Bookmark a place of a run's log; prints its permalink."""
    if line is None and offset is None and at is None:
        raise fail("give --line, --offset or --time (the place to bookmark)")
    run_id = common.resolve(url, token, run)
    body = {"line_number": line, "offset": offset, "time": at, "note": note}
    made = _post(url, token, f"/api/runs/{run_id}/bookmarks", {k: v for k, v in body.items() if v is not None})
    typer.echo(f"bookmark {made['id']} at {_place(made)}: {paths.server_url(url).rstrip('/')}{made['url']}")


@bookmark_app.command("list")
def list_(
    run: Annotated[str, typer.Argument(help="The run (id or name)")],
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """A run's bookmarks, oldest first: id, place, author, note and permalink."""
    run_id = common.resolve(url, token, run)
    got = common.get(url, token, f"/api/runs/{run_id}/bookmarks")
    base = paths.server_url(url).rstrip("/")
    marks = got["bookmarks"]
    if not marks:
        typer.echo(f"run {run_id} has no bookmarks")
    for b in marks:
        typer.echo(f"{b['id']}\t{_place(b)}\t{_text(b['created_by'] or '-')}\t{_text(b['note'])}\t{base}{b['url']}")
    if got["total"] > len(marks):
        typer.echo(f"(showing {len(marks)} of {got['total']} bookmarks)")
