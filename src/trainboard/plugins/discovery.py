"""Finding plugins through ``importlib.metadata`` entry points, and loading the ones the operator enabled.

Nothing here imports a plugin until :func:`load` is called for it, and :func:`load_group` only loads the enabled
ones: installing a package is not enough for its code to run in the server (plugins run code; the operator opts in
with ``trainboard serve --plugin NAME`` or ``Settings.plugins``). A name enables an entry point when it is the entry
point's name, its distribution's name (every entry point of that package), or ``GROUP:NAME`` with the group's short
form (``providers:ssh``); names compare case-insensitively with ``-``, ``_`` and ``.`` alike (PEP 503).

Built-in pieces (the ``local``, ``ray``, ``slurm`` and ``runpod`` providers, the accelerator system sources) are
described by the same ``EntryPoint`` objects and loaded by the same :func:`load`, always enabled.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points

from trainboard._version import __version__
from trainboard.plugins.spec import GROUPS, PluginError, check_api

__all__ = [
    "BUILTIN",
    "LoadedGroup",
    "PluginInfo",
    "installed",
    "is_enabled",
    "load",
    "load_group",
    "normalize",
    "parse_names",
]


def normalize(name: str) -> str:
    """PEP 503 normalisation: ``Trainboard_SSH`` and ``trainboard-ssh`` are one name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def parse_names(options: Iterable[str] | None) -> tuple[str, ...]:
    """``--plugin a --plugin b,c`` (or ``TRAINBOARD_PLUGINS="a b,c"``) as ``("a", "b", "c")``."""
    return tuple(n for o in options or () for n in o.replace(",", " ").split())


def _short(group: str) -> str:
    return group.removeprefix("trainboard.")


@dataclass(frozen=True)
class PluginInfo:
    """One entry point: where it comes from and whether the operator enabled it."""

    group: str
    name: str
    value: str  # "module:attr"
    dist: str | None  # the distribution that declares it; None for a built-in
    version: str
    enabled: bool
    entry_point: EntryPoint

    @property
    def builtin(self) -> bool:
        return self.dist is None


#: Built-in pieces, described like plugins and loaded by the same code (always enabled).
BUILTIN: tuple[EntryPoint, ...] = (
    EntryPoint("local", "trainboard.server.providers.local:create", "trainboard.providers"),
    EntryPoint("ray", "trainboard.server.providers.ray:create", "trainboard.providers"),
    EntryPoint("slurm", "trainboard.server.providers.slurm:create", "trainboard.providers"),
    EntryPoint("runpod", "trainboard.server.providers.runpod:create", "trainboard.providers"),
    EntryPoint(
        "nvidia-processes", "trainboard.system_sources.nvidia_procs:NvidiaProcesses", "trainboard.system_sources"
    ),
    EntryPoint("amd", "trainboard.system_sources.amd:AmdSmi", "trainboard.system_sources"),
    EntryPoint("intel", "trainboard.system_sources.intel:XpuSmi", "trainboard.system_sources"),
)


def is_enabled(group: str, name: str, dist: str | None, enabled: Collection[str]) -> bool:
    """Whether ``enabled`` (operator names) enables this entry point; see the module docstring."""
    if dist is None:
        return True
    wanted = {normalize(n) for n in enabled}
    return bool(wanted & {normalize(name), normalize(dist), normalize(f"{_short(group)}:{name}")})


def installed(
    groups: Iterable[str] = GROUPS, *, enabled: Collection[str] = (), builtin: bool = True, scan: bool = True
) -> list[PluginInfo]:
    """Every entry point of ``groups`` (installed distributions unless ``scan`` is false, then built-ins when
    ``builtin``), by group then name. Reads metadata only: nothing is imported."""
    out: list[PluginInfo] = []
    for group in groups:
        found: list[PluginInfo] = []
        for ep in entry_points(group=group) if scan else ():
            dist = ep.dist.name if ep.dist is not None else "?"
            version = ep.dist.version if ep.dist is not None else "?"
            found.append(
                PluginInfo(group, ep.name, ep.value, dist, version, is_enabled(group, ep.name, dist, enabled), ep)
            )
        if builtin:
            found += [
                PluginInfo(group, ep.name, ep.value, None, __version__, True, ep) for ep in BUILTIN if ep.group == group
            ]
        out += sorted(found, key=lambda p: (p.builtin, p.name))
    return out


def load(info: PluginInfo) -> object:
    """Import the entry point and return what it names; a plugin's module must declare a supported
    ``TRAINBOARD_API``. Raises :class:`PluginError` with the reason (import error, API version, not enabled)."""
    origin = f"{info.group} {info.name!r}" + (f" ({info.dist} {info.version})" if info.dist else "")
    if not info.enabled:
        raise PluginError(f"{origin} is installed but not enabled (trainboard serve --plugin {info.name})")
    try:
        obj = info.entry_point.load()
    except Exception as exc:
        raise PluginError(f"{origin}: {type(exc).__name__}: {exc}") from exc
    if not info.builtin:
        check_api(sys.modules[info.entry_point.module], origin=origin)
    return obj


@dataclass
class LoadedGroup:
    """The enabled entry points of one group that loaded (name -> object), and errors (name -> message)."""

    loaded: dict[str, object]
    errors: dict[str, str]
    infos: dict[str, PluginInfo]


def load_group(group: str, *, enabled: Collection[str] = (), builtin: bool = True) -> LoadedGroup:
    """Load every enabled entry point of ``group``. A plugin whose name a built-in already has is an error (a
    plugin never replaces a built-in silently); installed-but-not-enabled plugins are left out."""
    if group not in GROUPS:
        raise ValueError(f"unknown plugin group {group!r} (known: {', '.join(GROUPS)})")
    result = LoadedGroup({}, {}, {})
    # nothing enabled: no installed plugin can load, so the (slow, in a big environment) metadata scan is skipped
    infos = installed([group], enabled=enabled, builtin=builtin, scan=bool(enabled))
    builtin_names = {p.name for p in infos if p.builtin}
    for info in sorted(infos, key=lambda p: not p.builtin):  # built-ins first
        if not info.enabled:
            continue
        if not info.builtin and info.name in builtin_names:
            result.errors[f"{info.name} ({info.dist})"] = f"{info.dist}: {info.name!r} is a built-in {group} name"
            continue
        if info.name in result.infos:
            result.errors[info.name] = f"{info.dist}: {info.name!r} is also declared by {result.infos[info.name].dist}"
            continue
        result.infos[info.name] = info
        try:
            result.loaded[info.name] = load(info)
        except PluginError as exc:
            result.errors[info.name] = str(exc)
    return result
