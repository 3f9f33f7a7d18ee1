"""Metric condition evaluators: pure, stateful over one series (one rule on one run's one key).

``observe(step, wall, value)`` returns a ``Verdict`` (the condition holds or not, with the value and a
message) or ``None`` while there is not enough data to judge. Episodes (fire once, then resolve) are the
engine's job (``episodes``); these only say whether the condition holds at this point.
"""

from __future__ import annotations

import math
import statistics
from collections import deque
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class Verdict:
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
        return Verdict(bad, value, step, f"{self.key} is {_fmt(value)} at step {step:,}")


class Threshold:
    def __init__(self, key: str, op: str, limit: float) -> None:
        self.key, self.op, self.limit = key, op, limit

    def observe(self, step: int, wall: float, value: float) -> Verdict | None:
        if math.isnan(value):
            return None  # NaN is the nan condition's business: neither above nor below
        active = value > self.limit if self.op == "above" else value < self.limit
        return Verdict(active, value, step, f"{self.key} = {_fmt(value)} ({self.op} {self.limit:g}) at step {step:,}")


class Change:
    """A spike or drop: |value - mean| > z x stdev of the previous ``window`` finite values."""

    def __init__(self, key: str, window: int, z: float, min_points: int) -> None:
        self.key, self.z, self.min_points = key, z, max(2, min_points)
        self.values: deque[float] = deque(maxlen=window)

    def observe(self, step: int, wall: float, value: float) -> Verdict | None:
        if not math.isfinite(value):
            return None
        verdict = None
        if len(self.values) >= self.min_points:
            mean = statistics.fmean(self.values)
            stdev = statistics.pstdev(self.values, mean)
            if stdev > 0:
                score = (value - mean) / stdev
                verdict = Verdict(
                    abs(score) > self.z,
                    value,
                    step,
                    f"{self.key} = {_fmt(value)} at step {step:,}: {score:+.1f} sigma vs the mean {_fmt(mean)} "
                    f"of its last {len(self.values)} values",
                )
        self.values.append(value)
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
        return Verdict(
            value > self.factor * previous,
            value,
            step,
            f"{self.key} = {_fmt(value)} at step {step:,}: over {self.factor:g} x its minimum {_fmt(previous)}",
        )


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
        best = self.sign * self.best
        return Verdict(
            stuck >= self.steps,
            value,
            step,
            f"{self.key}: best {_fmt(best)} at step {self.best_step:,}, "
            f"no better by {self.delta:g} for {stuck:,} steps",
        )


class Throughput:
    """steps/s between consecutive points drops ``drop_percent`` below the rolling median of earlier rates."""

    def __init__(self, drop_percent: float, window: int) -> None:
        self.ratio = 1 - drop_percent / 100
        self.rates: deque[float] = deque(maxlen=window)
        self.last: tuple[int, float] | None = None

    def observe(self, step: int, wall: float, value: float) -> Verdict | None:
        last, self.last = self.last, (step, wall)
        if last is None or step <= last[0] or wall <= last[1]:
            return None
        rate = (step - last[0]) / (wall - last[1])
        verdict = None
        if len(self.rates) >= max(3, self.rates.maxlen // 2 if self.rates.maxlen else 3):
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
