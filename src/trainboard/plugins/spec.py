"""The plugin API's version and its groups: what a plugin declares and what this trainboard accepts.

A plugin is a distribution that declares entry points in one or more of :data:`GROUPS`. The module each entry
point names must define ``TRAINBOARD_API = <int>``: the API version it was written for. This trainboard loads a
plugin whose version lies in ``MIN_API_VERSION .. API_VERSION``; any other is refused with a message saying which
version it wants (shown by ``trainboard plugins`` and in the server's log), never half-loaded.

What each group's entry point resolves to:

``trainboard.providers``
    ``create(config: Mapping[str, Any], context: ProviderContext) -> Provider`` (``server.providers.base``); the
    name is the provider's name (``[providers.NAME]`` in ``providers.toml``).
``trainboard.system_sources``
    a class or callable taking no argument and returning a ``trainboard.system_sources.SystemSource``.
``trainboard.importers``
    ``register(app: typer.Typer) -> None`` adding ``trainboard import NAME`` (the same hook the built-in importers
    could use; the importer writes through the HTTP API like ``trainboard import``).
``trainboard.subscribers``
    a callable taking no argument and returning a write-path subscriber or a list of them
    (``server.ingest.subscribers``).
``trainboard.panels``
    a ``trainboard.plugins.panels.PanelSpec``: a web panel's ES module and assets in the plugin's package data.
"""

from __future__ import annotations

from types import ModuleType

__all__ = ["API_VERSION", "GROUPS", "MIN_API_VERSION", "PluginError", "check_api"]

#: The plugin API this trainboard implements; raised when a group's contract changes incompatibly.
API_VERSION = 1
#: The oldest plugin API version still accepted.
MIN_API_VERSION = 1

#: Every entry point group trainboard reads, in the order ``trainboard plugins`` lists them.
GROUPS: tuple[str, ...] = (
    "trainboard.providers",
    "trainboard.system_sources",
    "trainboard.importers",
    "trainboard.subscribers",
    "trainboard.panels",
)


class PluginError(Exception):
    """A plugin that cannot be used: not installed, not enabled, wrong API version, failed to import."""


def check_api(module: ModuleType, *, origin: str) -> int:
    """The ``TRAINBOARD_API`` that ``module`` declares, if this trainboard supports it; else :class:`PluginError`
    naming ``origin`` (the entry point) and the versions involved."""
    declared = getattr(module, "TRAINBOARD_API", None)
    if isinstance(declared, bool) or not isinstance(declared, int):
        raise PluginError(
            f"{origin}: module {module.__name__} declares no TRAINBOARD_API version "
            f"(this trainboard implements plugin API {API_VERSION})"
        )
    if not MIN_API_VERSION <= declared <= API_VERSION:
        raise PluginError(
            f"{origin}: written for plugin API {declared}; this trainboard supports "
            f"{MIN_API_VERSION}..{API_VERSION}" + (" (upgrade trainboard)" if declared > API_VERSION else "")
        )
    return declared
