"""Hatch build hook: build the web UI (``web/``) into ``src/trainboard/server/static`` when it is stale.

Wired in pyproject.toml::

    [tool.hatch.build.targets.wheel.hooks.custom]
    path = "hatch_build.py"

The bundle is rebuilt when ``static/index.html`` is missing or older than any web source. ``npm ci`` runs
only when ``web/node_modules`` is missing or lacks what package-lock.json names (``npm ls`` fails), e.g. after
a new dependency. Set ``TRAINBOARD_SKIP_WEB_BUILD=1`` to skip the UI build (the
server then shows a page saying the UI is not built).

Without ``npm`` on PATH the build goes on with one warning and without the UI (or with the bundle already
built, if stale): installing the client (``pip install trainboard`` from source, on a training machine) must
not need Node.js, and the client never serves the UI. A wheel meant for distribution must carry the bundle:
build it where Node.js is installed with ``TRAINBOARD_REQUIRE_WEB_BUILD=1 python -m build`` (or
``pip wheel .``), which then fails instead of leaving the UI out.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

WEB_SOURCES = ("src", "index.html", "package.json", "package-lock.json", "vite.config.ts", "tsconfig.json")


def newest_mtime(web: Path) -> float:
    """The newest modification time among the web sources (0 when there are none)."""
    newest = 0.0
    for name in WEB_SOURCES:
        path = web / name
        if path.is_file():
            newest = max(newest, path.stat().st_mtime)
        elif path.is_dir():
            for p in path.rglob("*"):
                if p.is_file():
                    newest = max(newest, p.stat().st_mtime)
    return newest


def needs_build(web: Path, index: Path) -> bool:
    """Whether ``index`` is missing or older than the web sources."""
    return not index.is_file() or index.stat().st_mtime < newest_mtime(web)


def installed(npm: str, web: Path) -> bool:
    """Whether ``web/node_modules`` holds every dependency ``package.json`` asks for."""
    if not (web / "node_modules").is_dir():
        return False
    done = subprocess.run([npm, "ls", "--depth=0"], cwd=web, capture_output=True, check=False)
    return done.returncode == 0


class CustomBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    """Runs ``npm ci`` (if needed) and ``npm run build`` in ``web/`` before the wheel is built."""

    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        root = Path(self.root)
        web = root / "web"
        static = root / "src" / "trainboard" / "server" / "static"
        index = static / "index.html"
        if os.environ.get("TRAINBOARD_SKIP_WEB_BUILD"):
            self.app.display_info("trainboard: TRAINBOARD_SKIP_WEB_BUILD set, not building the web UI")
            return
        if not (web / "package.json").is_file():
            # an sdist without web/ sources: the bundle must already be there
            if not index.is_file():
                self.app.display_warning("trainboard: no web/ sources and no built UI; the UI will be missing")
            return
        if not needs_build(web, index):
            self.app.display_info("trainboard: web UI is up to date")
            return
        npm = shutil.which("npm")
        if npm is None:
            missing = (
                "building the web UI needs Node.js (>= 20.19) with npm, and `npm` was not found on PATH "
                "(install it from https://nodejs.org or your package manager)"
            )
            if os.environ.get("TRAINBOARD_REQUIRE_WEB_BUILD"):
                raise RuntimeError(f"trainboard: {missing}; TRAINBOARD_REQUIRE_WEB_BUILD is set")
            kept = "keeping the stale built UI" if index.is_file() else "the dashboard will have no web UI"
            self.app.display_warning(
                f"trainboard: {missing}; {kept}. Fine for the client (`pip install trainboard`); "
                "`trainboard serve` needs the UI built."
            )
            return
        if not installed(npm, web):
            self.app.display_info("trainboard: npm ci (web/): installing the UI's packages, about a minute")
            self._run([npm, "ci", "--no-audit", "--no-fund"], web)
        self.app.display_info("trainboard: npm run build (web/): building the web UI, about a minute")
        self._run([npm, "run", "build"], web)
        if not index.is_file():
            raise RuntimeError(f"trainboard: `npm run build` finished but {index} is missing")

    def _run(self, cmd: list[str], cwd: Path) -> None:
        try:
            subprocess.run(cmd, cwd=cwd, check=True)
        except subprocess.CalledProcessError as exc:
            raise RuntimeError(f"trainboard: `{' '.join(cmd[1:])}` failed in {cwd} (exit {exc.returncode})") from exc
