"""Episodes: how a verdict stream becomes alerts, as Grafana defines it (pure, no I/O).

A condition that starts to hold opens a *pending* episode; one that still holds ``for_seconds`` later
*fires* (one notification); when it stops holding the episode *resolves* (one notification), and a pending
one is dropped silently. A firing episode is re-notified every ``repeat_seconds`` if set. So a condition that
holds at every point of a long stretch is one alert, never a storm.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Action = Literal["none", "pend", "fire", "resolve", "drop", "repeat"]


@dataclass(frozen=True)
class Open:
    """The open episode of a (rule, run, key), as stored."""

    state: Literal["pending", "firing"]
    started_at: float
    notified_at: float | None = None


def step(current: Open | None, *, active: bool, now: float, for_seconds: float, repeat_seconds: float | None) -> Action:
    """What to do with the episode ``current`` given that the condition holds (``active``) at ``now``."""
    if current is None:
        if not active:
            return "none"
        return "fire" if for_seconds <= 0 else "pend"
    if not active:
        return "drop" if current.state == "pending" else "resolve"
    if current.state == "pending":
        return "fire" if now - current.started_at >= for_seconds else "none"
    if repeat_seconds and current.notified_at is not None and now - current.notified_at >= repeat_seconds:
        return "repeat"
    return "none"
