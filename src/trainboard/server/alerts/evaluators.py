"""Metric condition evaluators: pure, stateful over one series (one rule on one run's one key).

``observe(step, wall, value)`` returns a ``Verdict`` (the condition holds or not, with the value and a
message) or ``None`` while there is not enough data to judge. Episodes (fire once, then resolve) are the
engine's job (``episodes``); these only say whether the condition holds at this point.
"""

from __future__ import annotations

import math
import statistics
from collections import deque
from typing import Any, NamedTuple, Protocol


class Verdict(NamedTuple):
    """Whether the condition holds at this point (a tuple: one is made per point of every watched key)."""

    active: bool
    value: float
    step: int
    message: str


def _fmt(value: float) -> str:
    return "NaN" if math.isnan(value) else f"{value:.6g}"


class Evaluator(Protocol):
    def observe(self, step: int, wall: float, value: float) -> Verdict | None: ...


class NonFinite:
    def __init__(self, key: str) -> None:
        self.key = key

    def observe(self, step: int, wall: float, value: float) -> Verdict | None:
        bad = not math.isfinite(value)
        return Verdict(bad, value, step, f"{self.key} is {_fmt(value)} at step {step:,}" if bad else "")


class Threshold:
    def __init__(self, key: str, op: str, limit: float) -> None:
        self.key, self.op, self.limit = key, op, limit

    def observe(self, step: int, wall: float, value: float) -> Verdict | None:
        if math.isnan(value):
            return None  # NaN is the nan condition's business: neither above nor below
        active = value > self.limit if self.op == "above" else value < self.limit
        message = f"{self.key} = {_fmt(value)} ({self.op} {self.limit:g}) at step {step:,}" if active else ""
        return Verdict(active, value, step, message)


class Change:
    """A spike or drop: |value - mean| > z x stdev of the previous ``window`` finite values (running sums: this
    runs for every point of every watched key)."""

    def __init__(self, key: str, window: int, z: float, min_points: int) -> None:
        self.key, self.z, self.min_points = key, z, max(2, min_points)
        self.values: deque[float] = deque(maxlen=window)
        self.total = 0.0
        self.squares = 0.0

    def observe(self, step: int, wall: float, value: float) -> Verdict | None:
        if not math.isfinite(value):
            return None
        verdict = None
        n = len(self.values)
        if n >= self.min_points:
            mean = self.total / n
            stdev = math.sqrt(max(0.0, self.squares / n - mean * mean))
            if stdev > 1e-12 * max(1.0, abs(mean)):
                score = (value - mean) / stdev
                active = abs(score) > self.z
                message = (
                    f"{self.key} = {_fmt(value)} at step {step:,}: {score:+.1f} sigma vs the mean {_fmt(mean)} "
                    f"of its last {n} values"
                    if active
                    else ""
                )
                verdict = Verdict(active, value, step, message)
        if n == self.values.maxlen:
            old = self.values[0]
            self.total -= old
            self.squares -= old * old
        self.values.append(value)
        self.total += value
        self.squares += value * value
        return verdict


class Divergence:
    """value > factor x the running minimum (of a positive series, such as a loss)."""

    def __init__(self, key: str, factor: float, min_points: int) -> None:
        self.key, self.factor, self.min_points = key, factor, min_points
        self.minimum = math.inf
        self.seen = 0

    def observe(self, step: int, wall: float, value: float) -> Verdict | None:
        if not math.isfinite(value):
            return None
        self.seen += 1
        previous = self.minimum
        self.minimum = min(self.minimum, value)
        if self.seen <= self.min_points or previous <= 0:
            return None
        if value <= self.factor * previous:
            return Verdict(False, value, step, "")
        message = f"{self.key} = {_fmt(value)} at step {step:,}: over {self.factor:g} x its minimum {_fmt(previous)}"
        return Verdict(True, value, step, message)


class Plateau:
    """No improvement of the best value by more than ``delta`` over ``steps`` steps."""

    def __init__(self, key: str, mode: str, delta: float, steps: int) -> None:
        self.key, self.sign, self.delta, self.steps = key, (1.0 if mode == "min" else -1.0), delta, steps
        self.best: float | None = None
        self.best_step = 0

    def observe(self, step: int, wall: float, value: float) -> Verdict | None:
        if not math.isfinite(value):
            return None
        score = self.sign * value
        if self.best is None or score < self.best - self.delta:
            self.best, self.best_step = score, step
        stuck = step - self.best_step
        if stuck < self.steps:
            return Verdict(False, value, step, "")
        best = self.sign * self.best
        message = (
            f"{self.key}: best {_fmt(best)} at step {self.best_step:,}, no better by {self.delta:g} for {stuck:,} steps"
        )
        return Verdict(True, value, step, message)


class Throughput:
    """steps/s drops ``drop_percent`` below the rolling median of earlier rates.

    Rates are measured over spans of at least ``span`` seconds, never between two points of one batch: points
    arrive in bursts (a client sends a batch a second), and a per-point rate would swing between a huge
    in-batch rate and the pause before the next batch, which is not a slowdown.
    """

    def __init__(self, drop_percent: float, window: int, span: float = 5.0) -> None:
        self.ratio = 1 - drop_percent / 100
        self.span = span
        self.rates: deque[float] = deque(maxlen=window)
        self.anchor: tuple[int, float] | None = None

    def observe(self, step: int, wall: float, value: float) -> Verdict | None:
        if self.anchor is None or step < self.anchor[0]:
            self.anchor = (step, wall)
            return None
        first_step, first_wall = self.anchor
        if wall - first_wall < self.span or step == first_step:
            return None
        self.anchor = (step, wall)
        rate = (step - first_step) / (wall - first_wall)
        verdict = None
        if len(self.rates) >= 3:
            median = statistics.median(self.rates)
            verdict = Verdict(
                rate < self.ratio * median,
                rate,
                step,
                f"{rate:.3g} steps/s at step {step:,}, vs a rolling median of {median:.3g} steps/s",
            )
        self.rates.append(rate)
        return verdict


def make(condition: dict[str, Any], key: str) -> Evaluator:
    """The evaluator for ``condition`` (already ``conditions.parse``d) on the series ``key``."""
    kind = condition["kind"]
    if kind == "nan":
        return NonFinite(key)
    if kind in ("threshold", "system"):
        return Threshold(key, condition["op"], condition["value"])
    if kind == "change":
        return Change(key, condition["window"], condition["z"], condition["min_points"])
    if kind == "divergence":
        return Divergence(key, condition["factor"], condition["min_points"])
    if kind == "plateau":
        return Plateau(key, condition["mode"], condition["delta"], condition["steps"])
    if kind == "throughput":
        return Throughput(condition["drop_percent"], condition["window"])
    raise ValueError(f"{kind} is not a metric condition")


def stall_after(intervals: list[float], configured: float) -> float:
    """Seconds without a new step that make a stall: ``configured``, else max(60, 5 x the median interval)."""
    if configured > 0:
        return configured
    return max(60.0, 5 * statistics.median(intervals)) if intervals else 60.0
