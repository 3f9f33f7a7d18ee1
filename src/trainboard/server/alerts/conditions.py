"""Rule conditions: the kinds, their parameters and defaults, validated with errors that name the field.

A condition is stored as JSON ``{"kind": ..., "key": ..., params}``; ``parse`` checks it and fills in the
defaults, so what is stored (and shown back) is exactly what is evaluated.
"""

from __future__ import annotations

import math
import re
from typing import Any

#: Kinds evaluated on each committed metric batch.
METRIC_KINDS = frozenset({"nan", "threshold", "change", "divergence", "plateau", "throughput", "system"})
#: Kinds evaluated by the leader's watcher on a clock.
TIMED_KINDS = frozenset({"stall", "queued"})
KINDS = METRIC_KINDS | TIMED_KINDS | {"status", "log"}
STATUSES = ("completed", "failed", "interrupted")

#: Parameters of each kind: name -> (type, default; ``...``: required).
_PARAMS: dict[str, dict[str, tuple[type, Any]]] = {
    "nan": {"key": (str, "*")},
    "threshold": {"key": (str, ...), "op": (str, "above"), "value": (float, ...)},
    "system": {"key": (str, "sys/gpu*/utilization"), "op": (str, "below"), "value": (float, 10.0)},
    "change": {"key": (str, ...), "window": (int, 50), "z": (float, 6.0), "min_points": (int, 10)},
    "divergence": {"key": (str, ...), "factor": (float, 2.0), "min_points": (int, 5)},
    "plateau": {"key": (str, ...), "mode": (str, "min"), "delta": (float, 0.0), "steps": (int, 1000)},
    "throughput": {"drop_percent": (float, 50.0), "window": (int, 20)},
    "stall": {"seconds": (float, 0.0)},  # 0: max(60 s, 5 x the run's median step interval)
    "queued": {"seconds": (float, 600.0)},
    "status": {"statuses": (list, ["failed", "interrupted"])},
    "log": {"pattern": (str, "")},  # empty: the built-in failure diagnosis on error lines
}


class ConditionError(ValueError):
    """A bad condition: ``field`` is the parameter's name (``kind``, ``value``, ...)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def _coerce(name: str, kind: type, value: Any) -> Any:
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise ConditionError(name, "must be a finite number")
        return float(value)
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConditionError(name, "must be a positive integer")
        return value
    if kind is str:
        if not isinstance(value, str) or len(value) > 256:
            raise ConditionError(name, "must be a string of at most 256 characters")
        return value
    if not isinstance(value, list):
        raise ConditionError(name, "must be a list")
    return value


def parse(raw: Any) -> dict[str, Any]:
    """The condition with its defaults filled in; raises ``ConditionError`` naming the bad field."""
    if not isinstance(raw, dict):
        raise ConditionError("condition", "must be an object with a kind")
    kind = raw.get("kind")
    if kind not in KINDS:
        raise ConditionError("kind", f"must be one of {', '.join(sorted(KINDS))}")
    params = _PARAMS[kind]
    unknown = sorted(set(raw) - set(params) - {"kind"})
    if unknown:
        raise ConditionError(unknown[0], f"is not a parameter of a {kind} condition (it takes {', '.join(params)})")
    out: dict[str, Any] = {"kind": kind}
    for name, (typ, default) in params.items():
        if name in raw:
            out[name] = _coerce(name, typ, raw[name])
        elif default is ...:
            raise ConditionError(name, f"is required by a {kind} condition")
        else:
            out[name] = list(default) if isinstance(default, list) else default
    if "op" in out and out["op"] not in ("above", "below"):
        raise ConditionError("op", 'must be "above" or "below"')
    if kind == "plateau" and out["mode"] not in ("min", "max"):
        raise ConditionError("mode", 'must be "min" (lower is better) or "max"')
    if kind == "plateau" and out["delta"] < 0:
        raise ConditionError("delta", "must be >= 0")
    if kind == "divergence" and out["factor"] <= 1:
        raise ConditionError("factor", "must be > 1")
    if kind == "change" and out["z"] <= 0:
        raise ConditionError("z", "must be > 0")
    if kind == "throughput" and not 0 < out["drop_percent"] < 100:
        raise ConditionError("drop_percent", "must be between 0 and 100")
    if kind in TIMED_KINDS and out["seconds"] < 0:
        raise ConditionError("seconds", "must be >= 0")
    if kind == "status":
        bad = [s for s in out["statuses"] if s not in STATUSES]
        if bad or not out["statuses"]:
            raise ConditionError("statuses", f"must be a non-empty list of {', '.join(STATUSES)}")
    if kind == "log" and out["pattern"]:
        try:
            re.compile(out["pattern"])
        except re.error as exc:
            raise ConditionError("pattern", f"is not a valid regular expression: {exc}") from None
    return out


def describe(condition: dict[str, Any]) -> str:
    """One line saying what the condition watches (rule titles, the CLI's list)."""
    kind = condition["kind"]
    key = condition.get("key", "")
    if kind == "nan":
        return f"{key} is NaN or infinite"
    if kind in ("threshold", "system"):
        return f"{key} {condition['op']} {condition['value']:g}"
    if kind == "change":
        return f"{key} jumps more than {condition['z']:g} sigma vs its last {condition['window']} values"
    if kind == "divergence":
        return f"{key} above {condition['factor']:g} x its running minimum"
    if kind == "plateau":
        return f"{key} no better by {condition['delta']:g} over {condition['steps']} steps"
    if kind == "throughput":
        return f"steps/s {condition['drop_percent']:g} % below the run's rolling median"
    if kind == "stall":
        seconds = condition["seconds"]
        return f"no new step for {seconds:g} s" if seconds else "no new step for max(60 s, 5 x median step interval)"
    if kind == "queued":
        return f"queued longer than {condition['seconds']:g} s"
    if kind == "status":
        return "run " + " or ".join(condition["statuses"])
    return f"log line matches /{condition['pattern']}/" if condition["pattern"] else "failure signature in the log"
