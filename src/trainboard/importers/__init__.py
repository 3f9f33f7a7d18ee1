"""Reading other tools' run records (TensorBoard event directories, offline wandb runs) as trainboard runs.

Each reader yields :class:`ImportedRun` values; ``trainboard import`` (``cli_import.py``) sends them to a running
server through its HTTP API. Ids are derived from the source's path and points carry per-file sequence
numbers, so importing the same thing again changes nothing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ImportedRun", "Series", "stable_id"]


@dataclass(slots=True)
class Series:
    """The points of one source file, in file order: ``(step, wall_time, {key: value})``; its ``stream`` names
    it for the server's sequence dedupe (the point's index is its seq)."""

    stream: str
    points: list[tuple[int, float, dict[str, float]]] = field(default_factory=list)


@dataclass(slots=True)
class ImportedRun:
    run_id: str
    name: str
    config: dict[str, Any]
    series: list[Series]

    @property
    def start_time(self) -> float | None:
        times = [p[1] for s in self.series for p in s.points[:1]]
        return min(times) if times else None


def stable_id(prefix: str, *parts: str) -> str:
    """A run or stream id made from ``parts`` (paths): the same parts always give the same id."""
    digest = hashlib.sha256("\0".join(parts).encode("utf-8", "surrogateescape")).hexdigest()
    return f"{prefix}-{digest[:24]}"
