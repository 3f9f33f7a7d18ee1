"""System sources: samplers of accelerators (and anything else) that add ``sys/...`` keys to a system sample.

A source is an object with a ``name``, ``status() -> str`` (``"detected: ..."`` or ``"not detected: why"``) and
``read(pids) -> dict[str, float]``, where ``pids`` is the run's process and its descendants (empty on the server's
own host sampler). ``read`` never raises and returns ``{}`` when its library or device is not there.

Built-in (always on, each degrading to "not detected"): ``nvidia-processes`` (the run's own share of each NVIDIA
GPU from NVML's process lists), ``amd`` (``amdsmi``), ``intel`` (``xpu-smi``). Apple silicon has no source: its GPU
counters need ``powermetrics`` run as root, so a Mac reports CPU, memory, disk and network only. Plugins add
sources through the ``trainboard.system_sources`` entry point group, enabled on the client with
``TRAINBOARD_PLUGINS=name[,name...]`` (the SDK and ``trainboard run``) and on the server with ``--plugin``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Collection
from typing import Protocol, runtime_checkable

__all__ = ["ENV_VAR", "SystemSource", "load_sources"]

log = logging.getLogger(__name__)

#: The client's list of enabled plugins (comma-separated names, as ``serve --plugin``).
ENV_VAR = "TRAINBOARD_PLUGINS"


@runtime_checkable
class SystemSource(Protocol):
    """A sampler adding ``sys/...`` keys (see the module docstring)."""

    name: str

    def status(self) -> str:
        """``"detected: <what>"`` or ``"not detected: <why>"``."""
        ...

    def read(self, pids: frozenset[int]) -> dict[str, float]:
        """The keys this source can give now; ``{}`` when not detected. Never raises."""
        ...


def load_sources(enabled: Collection[str] | None = None) -> list[SystemSource]:
    """The built-in sources plus the enabled ``trainboard.system_sources`` plugins (``enabled``: names, default
    ``$TRAINBOARD_PLUGINS``). A plugin that fails to load is logged as a warning and left out."""
    from trainboard.plugins import load_group

    if enabled is None:
        enabled = [n.strip() for n in os.environ.get(ENV_VAR, "").split(",") if n.strip()]
    group = load_group("trainboard.system_sources", enabled=enabled)
    for name, error in group.errors.items():
        log.warning("trainboard: system source %r is off: %s", name, error)
    sources: list[SystemSource] = []
    for name, factory in group.loaded.items():
        try:
            made = factory() if callable(factory) else factory
        except Exception as exc:
            log.warning("trainboard: system source %r could not start: %r", name, exc)
            continue
        if isinstance(made, SystemSource):
            sources.append(made)
        else:
            log.warning("trainboard: system source %r is not a SystemSource (needs name, status, read)", name)
    return sources
