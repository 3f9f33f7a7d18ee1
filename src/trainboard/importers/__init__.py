"""Reading other tools' run records (TensorBoard event directories, offline wandb runs) as trainboard runs.

Each reader yields :class:`ImportedRun` values; ``trainboard import`` (``cli_import.py``) sends them to a running
server through its HTTP API. Ids are derived from the source's path and points carry per-file sequence
numbers, so importing the same thing again changes nothing.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ImportedRun", "Series", "skipped_text", "stable_id"]


@dataclass(slots=True)
class Series:
    """The points of one source file, in file order: ``(step, wall_time, {key: value})``; its ``stream`` names
    it for the server's sequence dedupe (the point's index is its seq)."""

    stream: str
    points: list[tuple[int, float, dict[str, float]]] = field(default_factory=list)


@dataclass(slots=True)
class ImportedRun:
    """One run read from another tool. ``project`` is the source's (``None``: the importer's default);
    ``skipped`` counts what the source holds that trainboard does not import (``{"histograms": 12}``), so the
    importer can say so rather than drop it silently."""

    run_id: str
    name: str
    config: dict[str, Any]
    series: list[Series]
    project: str | None = None
    tags: list[str] = field(default_factory=list)
    notes: str | None = None
    status: str = "completed"
    exit_code: int | None = None
    skipped: Counter[str] = field(default_factory=Counter)
    #: when the source recorded the run's start (``None``: its first point's wall time)
    started: float | None = None
    #: rich values (histograms, images, text, tables) in the wire form of ``POST /api/runs/{id}/rich``
    rich: list[dict[str, Any]] = field(default_factory=list)

    @property
    def start_time(self) -> float | None:
        if self.started is not None:
            return self.started
        times = [p[1] for s in self.series for p in s.points[:1]]
        return min(times) if times else None


def stable_id(prefix: str, *parts: str) -> str:
    """A run or stream id made from ``parts`` (paths): the same parts always give the same id."""
    digest = hashlib.sha256("\0".join(parts).encode("utf-8", "surrogateescape")).hexdigest()
    return f"{prefix}-{digest[:24]}"


def skipped_text(skipped: Counter[str]) -> str:
    """``"12 histograms, 3 text"``: what a reader left out, most first (empty when nothing was)."""
    return ", ".join(f"{count} {what}" for what, count in skipped.most_common() if count)
