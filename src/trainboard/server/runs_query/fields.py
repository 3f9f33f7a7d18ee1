"""What a name in a filter or sort refers to.

- run fields: ``id name project status notes created_by`` (text), ``start_time end_time`` (epoch seconds or
  an ISO 8601 date), ``duration`` (seconds, or ``90s 5m 2h 1d``; a running run's lasts until now),
  ``exit_code last_step`` (numbers), ``archived`` (true/false), ``tags``;
- ``config.KEY``: a flattened config key (nested keys joined by dots);
- anything else is a metric key (``val/loss``), optionally with ``.last`` (the default), ``.min``, ``.max`` or
  ``.count``; ``metrics.KEY`` forces a metric reading for a key that is also a run field's name.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from trainboard.server.runs_query.errors import QueryError
from trainboard.server.runs_query.nodes import Agg, Name, Value

FieldType = Literal["text", "number", "time", "duration", "bool", "status", "tags", "config", "metric", "cost"]

RUN_FIELDS: dict[str, FieldType] = {
    "id": "text",
    "name": "text",
    "project": "text",
    "status": "status",
    "notes": "text",
    "created_by": "text",
    "start_time": "time",
    "end_time": "time",
    "duration": "duration",
    "exit_code": "number",
    "last_step": "number",
    "archived": "bool",
    "tags": "tags",
}
STATUSES = ("queued", "running", "completed", "failed", "interrupted")
AGGS: tuple[Agg, ...] = ("last", "min", "max", "count")
_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*(ms|s|m|h|d)", re.IGNORECASE)
_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


@dataclass(frozen=True)
class Field:
    type: FieldType
    key: str  # the run column, config key or metric key
    agg: Agg = "last"


def resolve(name: Name) -> Field:
    text = name.text
    if not text:
        raise QueryError("empty field name", name.pos)
    if text in RUN_FIELDS:
        return Field(RUN_FIELDS[text], text)
    if text.startswith("config."):
        key = text[len("config.") :]
        if not key:
            raise QueryError("expected a config key after 'config.'", name.pos)
        return Field("config", key)
    key = text[len("metrics.") :] if text.startswith("metrics.") and len(text) > len("metrics.") else text
    agg: Agg = "last"
    head, dot, tail = key.rpartition(".")
    if dot and head and tail in AGGS:
        key, agg = head, tail
    return Field("metric", key, agg)


def number(field_name: str, value: Value) -> float:
    if isinstance(value.value, float):
        return value.value
    raise QueryError(f"{field_name} compares with numbers, not {value.raw!r}", value.pos)


def time_value(field_name: str, value: Value) -> float:
    """Epoch seconds, from a number or an ISO 8601 date/time (UTC unless it says otherwise)."""
    if isinstance(value.value, float):
        return value.value
    try:
        when = datetime.fromisoformat(value.value)
    except ValueError:
        raise QueryError(
            f"{field_name} compares with epoch seconds or an ISO 8601 date such as 2026-01-31, not {value.raw!r}",
            value.pos,
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


def duration_value(value: Value) -> float:
    """Seconds, from a number or a sum of ``<n><unit>`` parts (``1h30m``, ``90s``, ``2d``)."""
    if isinstance(value.value, float):
        return value.value
    text = value.value.strip()
    total, end = 0.0, 0
    for m in _DURATION.finditer(text):
        if m.start() != end:
            break
        total += float(m.group(1)) * _UNIT[m.group(2).lower()]
        end = m.end()
    if end == 0 or end != len(text) or not math.isfinite(total):
        raise QueryError(
            f"duration compares with seconds or a length such as 90s, 5m, 1h30m, 2d, not {value.raw!r}", value.pos
        )
    return total


def bool_value(value: Value) -> bool:
    text = value.raw.lower()
    if text in ("true", "yes", "1", "1.0"):
        return True
    if text in ("false", "no", "0", "0.0"):
        return False
    raise QueryError(f"archived is true or false, not {value.raw!r}", value.pos)


def status_value(value: Value) -> str:
    text = value.raw.lower()
    if text not in STATUSES:
        raise QueryError(f"status is one of {', '.join(STATUSES)}, not {value.raw!r}", value.pos)
    return text
