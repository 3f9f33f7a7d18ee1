"""The client commands that read runs from the server: ``trainboard ls``, ``trainboard logs`` and
``trainboard export`` (the helpers they use are in ``cli_runs``, ``cli_logs`` and ``cli_export``)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from trainboard import cli_common as common
from trainboard import paths
from trainboard.cli_color import ColorMode
from trainboard.cli_common import ColorOpt, RunArg, TokenOpt, UrlOpt, fail


def register(app: typer.Typer, *names: str) -> None:
    """Add ``ls``, ``export`` and ``logs`` to ``app`` (only ``names`` of them when given)."""
    for name, command in (("ls", list_runs), ("export", export), ("logs", logs)):
        if not names or name in names:
            app.command(name)(command)


STATUS_STYLE = {
    "queued": ("◌ QUEUED", "cyan"),
    "running": ("● RUNNING", "green"),
    "completed": ("✓ COMPLETED", "green"),
    "failed": ("✗ FAILED", "red"),
    "interrupted": ("◌ INTERRUPTED", "yellow"),
}


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

    common.set_color(color)
    column = sort_column(sort)
    query: dict[str, Any] = {"status": status, "project": project, "filter": filter_, "sort": sort}
    if column is not None and column.kind == "metric":
        query["summary"] = column.key  # the sorted metric's value, for its column
    try:
        with common.client(url, token) as c:
            data = list_all(c, fail=fail, **query) if all_ else list_page(c, fail=fail, limit=limit, **query)
    except httpx.HTTPError as exc:
        raise fail(unreachable(paths.server_url(url), exc)) from None
    if as_json:
        common.console.print_json(json.dumps(data))
        return
    if not data["runs"]:
        common.console.print("no runs yet — start one with `trainboard demo` or the SDK (see the README)")
        return
    table = runs_table(
        data["runs"], total=data.get("total"), wide=wide, status_style=STATUS_STYLE, console=common.console, sort=sort
    )
    common.console.print(table)


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
    """Write a run's metrics (every point, no downsampling) as CSV (step,key,value,timestamp), JSON (with the index
    of its histograms, images, text and tables under "rich"), Parquet (same columns; needs pyarrow) or a TensorBoard
    event file (needs tensorboard)."""
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
    run_id = common.resolve(url, token, run)
    data = common.get(url, token, f"/api/runs/{run_id}/metrics")
    if fmt == "json":  # the index of the run's histograms, images, text and tables (each value at its own URL)
        data["rich"] = {
            "keys": common.get(url, token, f"/api/runs/{run_id}/rich")["keys"],
            "value_url": f"/api/runs/{run_id}/rich/{{key}}?step={{step}}",
        }
    if fmt == "parquet" and output is not None:
        cli_export.write_parquet(data, output)
        return
    if fmt == "tensorboard" and output is not None:
        written = cli_export.write_tensorboard(data, output)
        common.err.print(f"wrote {written}", highlight=False, soft_wrap=True)
        return
    out = open(output, "w", newline="") if output else sys.stdout  # noqa: SIM115
    try:
        (cli_export.write_json if fmt == "json" else cli_export.write_csv)(data, out)
    finally:
        if output:
            out.close()


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

    common.set_color(color)
    base = paths.server_url(url)
    strip = color is ColorMode.NEVER
    try:
        with common.client(url, token, read_timeout=None) as client:
            run_id = resolve_run(client, run, note=common.note, fail=fail).run_id
            if level or grep or source:
                colored = use_color(color, sys.stdout)
                print_lines(client, run_id, level=level, grep=grep, source=source, color=colored, fail=fail)
                return
            if follow:
                raise typer.Exit(follow_raw(client, run_id, strip_color=strip, fail=fail))
            print_raw(client, run_id, strip_color=strip, fail=fail)
    except httpx.HTTPError as exc:
        raise fail(unreachable(base, exc)) from None
