"""Metric condition evaluators: pure, stateful over one series (one rule on one run's one key).

``observe(step, wall, value)`` returns a ``Verdict`` (the condition holds or not, with the value and a
message) or ``None`` while there is not enough data to judge. Episodes (fire once, then resolve) are the
engine's job (``episodes``); these only say whether the condition holds at this point.

``scan(points)`` observes a batch's points of the series at once and keeps only the verdicts that can move an
episode: every active one, and an inactive one only where it follows an active one or is the batch's first
(an episode may be open from an earlier batch). An inactive verdict after that closes nothing more, so skipping
it changes no outcome; and the engine runs this for every point of every watched key of every rule, so the hot
kinds have a loop of their own with no call or tuple per point (``bench/alerts.py``: the cost on ingest).
"""

from __future__ import annotations

import math
import statistics
from collections import deque
from collections.abc import Sequence
from typing import Any, NamedTuple, Protocol


class Verdict(NamedTuple):
    """Whether the condition holds at this point (a tuple: one is made per point of every watched key)."""

    active: bool
    value: float
    step: int
    message: str
    wall: float = 0.0  # the point's wall time (when the engine's episode moved)


def _fmt(value: float) -> str:
    return "NaN" if math.isnan(value) else f"{value:.6g}"


#: One point of a series: (step, wall time, value).
Point = tuple[int, float, float]


class Evaluator(Protocol):
    def observe(self, step: int, wall: float, value: float) -> Verdict | None: ...

    def scan(self, points: Sequence[Point]) -> list[Verdict]: ...


def scan_by_point(ev: Evaluator, points: Sequence[Point]) -> list[Verdict]:
    """``scan`` through ``observe``: the verdicts that can move an episode (see the module's docstring)."""
    out: list[Verdict] = []
    first, was = True, False
    for step, wall, value in points:
        verdict = ev.observe(step, wall, value)
        if verdict is None:
            continue
        if verdict.active or first or was:
            out.append(verdict)
        first, was = False, verdict.active
    return out


class NonFinite:
    def __init__(self, key: str) -> None:
        self.key = key

    def observe(self, step: int, wall: float, value: float) -> Verdict | None:
        bad = not math.isfinite(value)
        return Verdict(bad, value, step, f"{self.key} is {_fmt(value)} at step {step:,}" if bad else "", wall)

    def scan(self, points: Sequence[Point]) -> list[Verdict]:
        out: list[Verdict] = []
        first, was = True, False
        isfinite = math.isfinite
        for step, wall, value in points:
            if isfinite(value):
                if first or was:
                    out.append(Verdict(False, value, step, "", wall))
                was = False
            else:
                out.append(Verdict(True, value, step, f"{self.key} is {_fmt(value)} at step {step:,}", wall))
                was = True
            first = False
        return out


class Threshold:
    def __init__(self, key: str, op: str, limit: float) -> None:
        self.key, self.op, self.limit = key, op, limit

    def observe(self, step: int, wall: float, value: float) -> Verdict | None:
        if math.isnan(value):
            return None  # NaN is the nan condition's business: neither above nor below
        active = value > self.limit if self.op == "above" else value < self.limit
        message = f"{self.key} = {_fmt(value)} ({self.op} {self.limit:g}) at step {step:,}" if active else ""
        return Verdict(active, value, step, message, wall)

    def scan(self, points: Sequence[Point]) -> list[Verdict]:
        out: list[Verdict] = []
        first, was = True, False
        above, limit = self.op == "above", self.limit
        for step, wall, value in points:
            if value != value:  # NaN: no verdict
                continue
            if (value > limit) if above else (value < limit):
                out.append(
                    Verdict(
                        True, value, step, f"{self.key} = {_fmt(value)} ({self.op} {limit:g}) at step {step:,}", wall
                    )
                )
                was = True
            else:
                if first or was:
                    out.append(Verdict(False, value, step, "", wall))
                was = False
            first = False
        return out


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
                verdict = Verdict(active, value, step, message, wall)
        if n == self.values.maxlen:
            old = self.values[0]
            self.total -= old
            self.squares -= old * old
        self.values.append(value)
        self.total += value
        self.squares += value * value
        return verdict

    def scan(self, points: Sequence[Point]) -> list[Verdict]:
        out: list[Verdict] = []
        first, was = True, False
        values, total, squares = self.values, self.total, self.squares
        window, z, min_points, isfinite, sqrt = values.maxlen, self.z, self.min_points, math.isfinite, math.sqrt
        for step, wall, value in points:
            if not isfinite(value):
                continue
            n = len(values)
            if n >= min_points:
                mean = total / n
                stdev = sqrt(max(0.0, squares / n - mean * mean))
                if stdev > 1e-12 * max(1.0, abs(mean)):
                    score = (value - mean) / stdev
                    if abs(score) > z:
                        message = (
                            f"{self.key} = {_fmt(value)} at step {step:,}: {score:+.1f} sigma vs the mean "
                            f"{_fmt(mean)} of its last {n} values"
                        )
                        out.append(Verdict(True, value, step, message, wall))
                        was = True
                    else:
                        if first or was:
                            out.append(Verdict(False, value, step, "", wall))
                        was = False
                    first = False
            if n == window:
                old = values[0]
                total -= old
                squares -= old * old
            values.append(value)
            total += value
            squares += value * value
        self.total, self.squares = total, squares
        return out


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
            return Verdict(False, value, step, "", wall)
        message = f"{self.key} = {_fmt(value)} at step {step:,}: over {self.factor:g} x its minimum {_fmt(previous)}"
        return Verdict(True, value, step, message, wall)

    def scan(self, points: Sequence[Point]) -> list[Verdict]:
        out: list[Verdict] = []
        first, was = True, False
        minimum, seen, factor, min_points, isfinite = (
            self.minimum,
            self.seen,
            self.factor,
            self.min_points,
            math.isfinite,
        )
        for step, wall, value in points:
            if not isfinite(value):
                continue
            seen += 1
            previous = minimum
            if value < minimum:
                minimum = value
            if seen <= min_points or previous <= 0:
                continue
            if value <= factor * previous:
                if first or was:
                    out.append(Verdict(False, value, step, "", wall))
                was = False
            else:
                message = f"{self.key} = {_fmt(value)} at step {step:,}: over {factor:g} x its minimum {_fmt(previous)}"
                out.append(Verdict(True, value, step, message, wall))
                was = True
            first = False
        self.minimum, self.seen = minimum, seen
        return out


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
        if step - self.best_step < self.steps:
            return Verdict(False, value, step, "", wall)
        return self._stuck(step, wall, value)

    def scan(self, points: Sequence[Point]) -> list[Verdict]:
        out: list[Verdict] = []
        first, was = True, False
        sign, delta, steps, isfinite = self.sign, self.delta, self.steps, math.isfinite
        for step, wall, value in points:
            if not isfinite(value):
                continue
            score = sign * value
            if self.best is None or score < self.best - delta:
                self.best, self.best_step = score, step
            if step - self.best_step < steps:
                if first or was:
                    out.append(Verdict(False, value, step, "", wall))
                was = False
            else:
                out.append(self._stuck(step, wall, value))
                was = True
            first = False
        return out

    def _stuck(self, step: int, wall: float, value: float) -> Verdict:
        assert self.best is not None
        best = self.sign * self.best
        stuck = step - self.best_step
        message = (
            f"{self.key}: best {_fmt(best)} at step {self.best_step:,}, no better by {self.delta:g} for {stuck:,} steps"
        )
        return Verdict(True, value, step, message, wall)


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
                wall,
            )
        self.rates.append(rate)
        return verdict

    def scan(self, points: Sequence[Point]) -> list[Verdict]:
        return scan_by_point(self, points)


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
