"""Failed-login limits per user name and per client address (in memory, per server process)."""

from __future__ import annotations

import math
import time
from collections import deque


class FailureLimiter:
    """At most ``limit`` failures per key within ``window`` seconds; further attempts wait (429)."""

    def __init__(self, limit: int, window: float, *, max_keys: int = 100_000) -> None:
        self.limit = limit
        self.window = window
        self.max_keys = max_keys
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.get(key)
        if times is None:
            return deque()
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._failures[key]
        return times

    def retry_after(self, key: str, now: float | None = None) -> int | None:
        """Seconds to wait before ``key`` may try again, or ``None`` when it may try now."""
        now = time.monotonic() if now is None else now
        times = self._recent(key, now)
        if len(times) < self.limit:
            return None
        return max(1, math.ceil(times[0] + self.window - now))

    def fail(self, key: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        if key not in self._failures and len(self._failures) >= self.max_keys:
            self._failures.pop(next(iter(self._failures)))  # bounded memory: forget the oldest key
        self._failures.setdefault(key, deque()).append(now)

    def reset(self, key: str) -> None:
        self._failures.pop(key, None)
