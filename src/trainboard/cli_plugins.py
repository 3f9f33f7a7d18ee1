"""``trainboard plugins``: the installed plugins by entry point group, with versions, enabled or not, and errors.

The listing reads entry point metadata (nothing is imported); the plugins named by ``--plugin`` (the same names
``trainboard serve --plugin`` takes, default ``$TRAINBOARD_PLUGINS``) and the built-ins are loaded, so an import
error or an unsupported ``TRAINBOARD_API`` shows here before the server is started with them. System sources also
say whether they detect their hardware.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from trainboard import cli_common as common


def register(app: typer.Typer) -> None:
    """Add ``plugins`` to ``app``."""
    app.command("plugins")(plugins)


def register_importers(import_app: typer.Typer) -> None:
    """Let the ``trainboard.importers`` plugins enabled by ``$TRAINBOARD_PLUGINS`` add their ``trainboard import
    NAME`` commands (their entry point: ``register(import_app)``). A plugin that fails is one line on stderr; the
    other commands still work. Without ``$TRAINBOARD_PLUGINS`` nothing is read."""
    import os

    from trainboard.plugins import load_group, parse_names

    enabled = parse_names([os.environ.get("TRAINBOARD_PLUGINS", "")])
    if not enabled:
        return
    group = load_group("trainboard.importers", enabled=enabled)
    for name, error in group.errors.items():
        common.err.print(f"trainboard: importer plugin {name!r} is off: {error}", markup=False, highlight=False)
    for name, hook in group.loaded.items():
        try:
            if not callable(hook):
                raise TypeError(f"{group.infos[name].value} is not a register(import_app) function")
            hook(import_app)
        except Exception as exc:
            common.err.print(
                f"trainboard: importer plugin {name!r} is off: {type(exc).__name__}: {exc}",
                markup=False,
                highlight=False,
            )


def _rows(enabled: tuple[str, ...]) -> list[dict[str, Any]]:
    from trainboard.plugins import PluginError, installed, load
    from trainboard.system_sources import SystemSource

    rows: list[dict[str, Any]] = []
    for info in installed(enabled=enabled):
        row: dict[str, Any] = {
            "group": info.group,
            "name": info.name,
            "package": info.dist or "built-in",
            "version": info.version,
            "enabled": info.enabled,
            "value": info.value,
            "status": "not enabled" if not info.enabled else "loaded",
            "error": None,
        }
        if info.builtin and info.group == "trainboard.providers":
            # built-in providers import optional libraries (ray, runpod) only when configured: not loaded here
            row["status"] = "loaded when configured"
        elif info.enabled:
            try:
                obj = load(info)
                if info.group == "trainboard.system_sources":
                    source = obj() if callable(obj) else obj
                    if isinstance(source, SystemSource):
                        row["status"] = source.status()
            except PluginError as exc:
                row["status"], row["error"] = "error", str(exc)
            except Exception as exc:  # a source that fails to start
                row["status"], row["error"] = "error", f"{type(exc).__name__}: {exc}"
        rows.append(row)
    return rows


def plugins(
    plugin: Annotated[
        list[str] | None,
        typer.Option(envvar="TRAINBOARD_PLUGINS", help="Names to treat as enabled, as for trainboard serve --plugin"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per entry point, one a line")] = False,
) -> None:
    """List installed plugins by group: version, enabled or not, and load errors."""
    from rich.table import Table

    from trainboard.plugins import API_VERSION, MIN_API_VERSION, parse_names

    rows = _rows(parse_names(plugin))
    if as_json:
        for row in rows:
            common.console.print_json(json.dumps(row), indent=None)
        return
    table = Table(title=f"trainboard plugins (plugin API {API_VERSION}; accepts {MIN_API_VERSION}..{API_VERSION})")
    for column in ("group", "name", "package", "version", "enabled", "status"):
        table.add_column(column, overflow="fold")
    for row in rows:
        status = row["error"] or row["status"]
        table.add_row(
            row["group"].removeprefix("trainboard."),
            row["name"],
            row["package"],
            row["version"],
            "yes" if row["enabled"] else "no",
            f"[red]{status}[/red]" if row["error"] else status,
        )
    common.console.print(table)
    if all(r["package"] == "built-in" for r in rows):
        common.console.print(
            "no plugin installed (entry point groups: providers, system_sources, importers, subscribers, panels)"
        )
