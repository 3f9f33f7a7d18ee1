"""Committed changes: what the write path hands to subscribers once a write is durable.

Each is a frozen dataclass carrying the run's id and project, the wall time of the commit, and what a rule
(an alert, an exporter, a per-rank view) needs to act without reading the database again. They are built
after the commit, from what was actually written (duplicates a retry re-sent are not in them), and are
shared between subscribers: never mutate what they hold.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any


@dataclass(frozen=True, kw_only=True)
class Change:
    """Base of every committed change."""

    run_id: str
    #: The run's project when the change was committed ("" when the run has none).
    project: str
    #: Wall time (epoch seconds) just after the commit.
    committed_at: float


#: One step of a metric batch: (step, wall time of the point, {key: value}); values may be NaN or +-inf.
MetricStep = tuple[int, float, Mapping[str, float]]


@dataclass(frozen=True, kw_only=True, eq=False)
class MetricBatch(Change):
    """Metric points a batch wrote, oldest first (all of them: nothing is capped here).

    ``rows`` is the rows, or a function returning them: the write path passes a function, so that turning
    the stored columns into ``steps`` costs ingest nothing until a subscriber first reads ``steps``."""

    stream: str | None
    rows: Sequence[MetricStep] | Callable[[], Sequence[MetricStep]] = field(repr=False)

    @cached_property
    def steps(self) -> tuple[MetricStep, ...]:
        """(step, wall time, {key: value}) per written row, oldest first."""
        return tuple(self.rows() if callable(self.rows) else self.rows)

    @cached_property
    def keys(self) -> frozenset[str]:
        """Every key with at least one value in the batch."""
        return frozenset(k for _s, _t, values in self.steps for k in values)

    def series(self, key: str) -> list[tuple[int, float]]:
        """``(step, value)`` of one key, oldest first."""
        return [(step, values[key]) for step, _t, values in self.steps if key in values]


@dataclass(frozen=True)
class Line:
    """One final (no longer provisional) log line."""

    number: int
    time: float
    source: str  # stdout | stderr | sdk | user
    level: int  # logging levels: 10 DEBUG ... 50 CRITICAL
    text: str


@dataclass(frozen=True, kw_only=True)
class LineBatch(Change):
    """Log lines made final by one commit (from raw terminal output or posted as lines), in line order."""

    lines: tuple[Line, ...]


@dataclass(frozen=True)
class RawChunk:
    """Raw terminal bytes as stored: ``end`` is the byte offset just past ``data`` in the run's log."""

    end: int
    source: str  # stdout | stderr
    time: float
    data: bytes


@dataclass(frozen=True, kw_only=True)
class TerminalOutput(Change):
    """Raw terminal bytes one upload appended (chunks a retry re-sent are not included)."""

    stream: str | None
    chunks: tuple[RawChunk, ...]


@dataclass(frozen=True, kw_only=True)
class RunCreated(Change):
    name: str
    status: str


@dataclass(frozen=True, kw_only=True)
class RunDeleted(Change):
    pass


@dataclass(frozen=True, kw_only=True)
class StatusChange(Change):
    """A run's status changed (never sent when the status stayed the same)."""

    old_status: str
    new_status: str  # queued | running | completed | failed | interrupted
    exit_code: int | None
    #: Why, when known: the run's status reason (a diagnosis, "heartbeat lost", "cancelled", ...).
    reason: str | None
    #: Who changed it: "api" (a client's PUT), "heartbeat" (the watchdog), "launch" (the launch service), ...
    origin: str


@dataclass(frozen=True, kw_only=True)
class CheckpointRegistered(Change):
    checkpoint_id: str
    step: int | None
    metrics: Mapping[str, Any] | None
    valid: bool
    is_best: bool


@dataclass(frozen=True, kw_only=True)
class CheckpointBest(Change):
    """A checkpoint was marked as the run's best."""

    checkpoint_id: str


@dataclass(frozen=True, kw_only=True)
class RunAnnotated(Change):
    """Tags, notes, name or archived flag changed: ``changed`` names the fields, the others are their values
    after the commit."""

    changed: frozenset[str]
    tags: tuple[str, ...] = ()
    notes: str | None = None
    name: str | None = None
    archived: bool | None = None


@dataclass(frozen=True, kw_only=True)
class LaunchStateChange(Change):
    """A launched job's state changed (queued -> starting -> running -> ended, or cancelled)."""

    provider: str
    old_state: str | None
    new_state: str
    reason: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class SubscriberLagged(Change):
    """Told to one subscriber (only) when its queue overflowed: ``dropped`` changes were not delivered to it.
    ``run_id`` and ``project`` are those of the first dropped change."""

    dropped: int


@dataclass(frozen=True, kw_only=True)
class RichWritten(Change):
    """Rich values (histograms, images, text, tables) one upload stored: ``(key, step, kind)`` each; a value
    re-sent at the same (key, step) is in it again (it replaced the stored one)."""

    values: tuple[tuple[str, int, str], ...]


@dataclass(frozen=True, kw_only=True)
class RankUpdated(Change):
    """A rank of a distributed run registered or updated its record (``fields``: what this call set)."""

    rank: int
    fields: Mapping[str, Any]


@dataclass(frozen=True, kw_only=True)
class StragglerFlagged(Change):
    """A rank was found consistently slower than the run's ranks (recorded once per rank, as an event)."""

    rank: int
    slower_by_percent: float
    step_time_median: float
