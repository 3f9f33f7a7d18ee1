"""Plugins: trainboard's extension points, discovered through Python entry points.

Groups (``spec.GROUPS``): ``trainboard.providers``, ``trainboard.system_sources``, ``trainboard.importers``,
``trainboard.subscribers``, ``trainboard.panels``; the contract of each is in :mod:`trainboard.plugins.spec`.
A plugin's module declares ``TRAINBOARD_API`` (:data:`API_VERSION` today), and is loaded only when the operator
enables it (``trainboard serve --plugin NAME``). ``trainboard plugins`` lists what is installed.
"""

from __future__ import annotations

from trainboard.plugins.discovery import (
    BUILTIN,
    LoadedGroup,
    PluginInfo,
    installed,
    is_enabled,
    load,
    load_group,
    parse_names,
)
from trainboard.plugins.spec import API_VERSION, GROUPS, MIN_API_VERSION, PluginError, check_api

__all__ = [
    "API_VERSION",
    "BUILTIN",
    "GROUPS",
    "MIN_API_VERSION",
    "LoadedGroup",
    "PluginError",
    "PluginInfo",
    "check_api",
    "installed",
    "is_enabled",
    "load",
    "load_group",
    "parse_names",
]
