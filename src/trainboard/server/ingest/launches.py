"""Launch state changes as committed changes (the launch service builds them inside its write jobs)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from trainboard.server.ingest.changes import Change, LaunchStateChange

if TYPE_CHECKING:
    from trainboard.server.ingest.path import WritePath


@dataclass(frozen=True)
class LaunchStep:
    """What a launch job recorded: its job's state went from ``old`` to ``new``."""

    run_id: str
    provider: str
    old: str | None
    new: str
    reason: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)


def launch_changes(path: WritePath, conn: Connection, steps: list[LaunchStep]) -> list[Change]:
    """The ``LaunchStateChange`` of each step whose state changed."""
    return [
        LaunchStateChange(
            **path.stamp(conn, s.run_id),
            provider=s.provider,
            old_state=s.old,
            new_state=s.new,
            reason=s.reason,
            details=dict(s.details),
        )
        for s in steps
        if s.old != s.new
    ]
