"""Web panel plugins: what a panel entry point declares, and finding its files safely.

The group is ``trainboard.panels``.

A panel plugin ships an ES module (and any assets it imports) as package data; its entry point names a
:class:`PanelSpec`. The server serves the files of ``directory`` in ``package`` at
``/api/plugins/<entry point name>/assets/<path>`` (read permission, like the rest of the API) and nothing else:
a path with ``..``, a backslash, a NUL, an absolute path or a symlink leading out of the folder is a 404. The web
UI imports ``module`` with a dynamic ``import()`` and calls its ``mount(element, api)`` (web/src/plugins/api.ts):
``api`` holds the run, the keys and rich keys the panel asked for, a data fetcher limited to this server's API,
and the theme. The built-in panels do not go through this mechanism (they are compiled into the UI bundle).
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

__all__ = ["PanelSpec", "asset_file", "panel_root"]

#: What a path below a panel's folder may look like: segments of letters, digits, ``._-``, no segment ``.``/``..``.
_SAFE_PATH = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]*(/[A-Za-z0-9_][A-Za-z0-9._-]*)*")
#: An entry point name usable in the URL.
SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


@dataclass(frozen=True)
class PanelSpec:
    """A web panel: ``title`` (its box's header), the ``package`` whose ``directory`` holds ``module`` (the ES
    module exporting ``mount``) and its assets, the metric ``keys`` and ``rich`` keys it asks for (shell-style
    patterns matched against the run's keys: the UI hands the panel the matching ones), and a ``description``."""

    title: str
    package: str
    module: str = "panel.js"
    directory: str = "static"
    keys: tuple[str, ...] = ()
    rich: tuple[str, ...] = ()
    description: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.title or not isinstance(self.title, str):
            raise ValueError("PanelSpec.title: a panel needs a title")
        if not _SAFE_PATH.fullmatch(self.module):
            raise ValueError(f"PanelSpec.module: {self.module!r} is not a plain relative path")
        if not _SAFE_PATH.fullmatch(self.directory):
            raise ValueError(f"PanelSpec.directory: {self.directory!r} is not a plain relative path")

    def wants_rich(self, key: str) -> bool:
        return any(fnmatch.fnmatchcase(key, p) for p in self.rich)

    def wants_key(self, key: str) -> bool:
        return any(fnmatch.fnmatchcase(key, p) for p in self.keys)


def panel_root(spec: PanelSpec) -> Path:
    """The folder of the panel's files on disk (a package installed as files, as pip installs it); ``ValueError``
    when it is not there (a zipped package, a wrong ``directory``)."""
    root = resources.files(spec.package) / spec.directory
    path = Path(str(root))
    if not path.is_dir():
        raise ValueError(f"{spec.package}: the panel folder {spec.directory!r} is not in the installed package")
    if not (path / spec.module).is_file():
        raise ValueError(f"{spec.package}: the panel module {spec.directory}/{spec.module} is not in the package")
    return path.resolve()


def asset_file(root: Path, path: str) -> Path | None:
    """``root / path`` when ``path`` is a plain relative path naming a file inside ``root`` (symlinks resolved);
    ``None`` otherwise."""
    if len(path) > 512 or not _SAFE_PATH.fullmatch(path):
        return None
    try:
        candidate = (root / path).resolve()
    except (OSError, ValueError):
        return None
    return candidate if candidate.is_relative_to(root) and candidate.is_file() else None
