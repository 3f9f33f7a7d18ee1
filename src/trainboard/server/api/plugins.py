"""The enabled plugins as the web UI needs them: ``GET /api/plugins`` (panels and load errors) and each panel's
files under ``/api/plugins/<name>/assets/`` (see ``trainboard.plugins.panels``)."""

from __future__ import annotations

import mimetypes
import threading
from dataclasses import dataclass
from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from trainboard.plugins import API_VERSION, GROUPS, installed, load_group
from trainboard.plugins.panels import SAFE_NAME, PanelSpec, asset_file, panel_root
from trainboard.server.api.errors import not_found
from trainboard.server.state import AppState, State

router = APIRouter(tags=["plugins"])

_GROUP = "trainboard.panels"


class PanelOut(BaseModel):
    name: str = Field(description="The entry point's name: the panel's URL segment")
    title: str
    package: str
    version: str
    module_url: str = Field(description="The ES module to import(); it exports mount(element, api)")
    keys: list[str] = Field(description="Metric key patterns the panel asks for")
    rich: list[str] = Field(description="Rich data key patterns the panel asks for")
    description: str


class PluginErrorOut(BaseModel):
    group: str
    name: str
    error: str


class PluginsOut(BaseModel):
    api_version: int
    panels: list[PanelOut]
    enabled: list[str] = Field(description="The plugin names the operator enabled (serve --plugin)")
    errors: list[PluginErrorOut] = Field(description="Enabled plugins that failed to load, with the reason")


@dataclass
class _Panels:
    roots: dict[str, Path]
    out: PluginsOut


_lock = threading.Lock()


def _panels(state: AppState) -> _Panels:
    """Loaded once per app (the first request), then kept: enabling a plugin takes a server restart."""
    with _lock:
        cached = state.extras.get("plugin_panels")
        if isinstance(cached, _Panels):
            return cached
        enabled = state.settings.plugins
        group = load_group(_GROUP, enabled=enabled)
        roots: dict[str, Path] = {}
        panels: list[PanelOut] = []
        errors = [PluginErrorOut(group=_GROUP, name=n, error=e) for n, e in group.errors.items()]
        for name, spec in group.loaded.items():
            info = group.infos[name]
            try:
                if not isinstance(spec, PanelSpec):
                    raise ValueError(f"{info.value} is a {type(spec).__name__}, not a PanelSpec")
                if not SAFE_NAME.fullmatch(name):
                    raise ValueError(f"the entry point name {name!r} cannot be a URL segment")
                roots[name] = panel_root(spec)
            except ValueError as exc:
                errors.append(PluginErrorOut(group=_GROUP, name=name, error=str(exc)))
                continue
            panels.append(
                PanelOut(
                    name=name,
                    title=spec.title,
                    package=info.dist or "trainboard",
                    version=info.version,
                    module_url=f"/api/plugins/{name}/assets/{spec.module}",
                    keys=list(spec.keys),
                    rich=list(spec.rich),
                    description=spec.description,
                )
            )
        # other groups' load errors are the server log's (providers: GET /api/providers); panels are what the UI
        # mounts, so only theirs are here, plus enabled names that match no installed plugin at all
        known = {p.name for p in installed(GROUPS, enabled=enabled, builtin=False) if p.enabled}
        known |= {p.dist for p in installed(GROUPS, enabled=enabled, builtin=False) if p.enabled and p.dist}
        for wanted in enabled:
            if not any(_same(wanted, k) for k in known):
                errors.append(
                    PluginErrorOut(group="", name=wanted, error="enabled but no installed plugin has this name")
                )
        made = _Panels(roots, PluginsOut(api_version=API_VERSION, panels=panels, enabled=list(enabled), errors=errors))
        state.extras["plugin_panels"] = made
        return made


def _same(wanted: str, name: str) -> bool:
    from trainboard.plugins.discovery import normalize

    return normalize(wanted.partition(":")[2] or wanted) == normalize(name)


@router.get("/api/plugins", response_model=PluginsOut)
def list_plugins(state: State) -> PluginsOut:
    """The web panels of the enabled plugins (``trainboard serve --plugin NAME``) and enabled plugins that failed
    to load. ``api_version``: the plugin API this server implements."""
    return _panels(state).out


@router.get("/api/plugins/{name}/assets/{path:path}", include_in_schema=False)
def plugin_asset(name: str, path: str, state: State) -> FileResponse:
    """A file of an enabled panel plugin's folder; anything else (another folder, ``..``, a symlink out) is 404."""
    root = _panels(state).roots.get(name)
    if root is None:
        not_found("panel plugin", name)
    file = asset_file(root, path)
    if file is None:
        raise HTTPException(status_code=404, detail=f"panel plugin {name!r} has no file {path[:200]!r}")
    media = "text/javascript" if file.suffix in (".js", ".mjs") else mimetypes.guess_type(file.name)[0]
    return FileResponse(
        file,
        media_type=media or "application/octet-stream",
        headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
    )
