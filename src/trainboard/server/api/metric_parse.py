"""Hand parser for metric batches: faster than pydantic for 100,000-point bodies, same error shape.

Accepted bodies: ``{"stream": ..., "points": [{"seq", "step", "timestamp", "metrics": {...}}, ...]}``
or a single point ``{"step": ..., "metrics": {...}}``.
"""

from __future__ import annotations

import json
import time
from typing import Any

from trainboard.server.store.metrics import Point
from trainboard.wire import ID_RE, check_key, check_step, decode_float

MAX_ERRORS = 20


class BatchError(Exception):
    """Carries FastAPI-shaped error dicts."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(errors)
        self.errors = errors


def parse_batch(body: bytes) -> tuple[str | None, list[Point]]:
    """Parse and validate a batch; raises ``BatchError`` listing up to 20 problems by location."""
    errors: list[dict[str, Any]] = []

    def err(loc: list[Any], msg: str) -> None:
        errors.append({"loc": ["body", *loc], "msg": msg, "type": "value_error"})

    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BatchError([{"loc": ["body"], "msg": f"invalid JSON: {exc}", "type": "json_invalid"}]) from None
    if not isinstance(doc, dict):
        raise BatchError([{"loc": ["body"], "msg": "must be a JSON object", "type": "type_error"}])
    stream = doc.get("stream")
    if stream is not None and (not isinstance(stream, str) or not ID_RE.match(stream)):
        err(["stream"], "must be 1-64 characters of A-Z a-z 0-9 _ -")
    if "points" in doc:
        raw_points = doc["points"]
        prefix: list[Any] = ["points"]
        if not isinstance(raw_points, list):
            raise BatchError([{"loc": ["body", "points"], "msg": "must be a list", "type": "type_error"}])
    elif "metrics" in doc:
        raw_points = [doc]
        prefix = []
    else:
        raise BatchError(
            [{"loc": ["body", "points"], "msg": 'field required (or a single point with "metrics")', "type": "missing"}]
        )
    now = time.time()
    points: list[Point] = []
    for i, p in enumerate(raw_points):
        loc = [*prefix, i] if prefix else []
        if len(errors) >= MAX_ERRORS:
            break
        if not isinstance(p, dict):
            err(loc, "each point must be an object")
            continue
        seq = p.get("seq")
        if seq is not None and (type(seq) is not int or seq < 0):
            err([*loc, "seq"], "must be a non-negative integer")
        step = p.get("step")
        if step is not None and (why := check_step(step)):
            err([*loc, "step"], why)
        ts = p.get("timestamp")
        if ts is None:
            ts = now
        elif type(ts) not in (int, float) or not (0 <= ts < 1e11):
            err([*loc, "timestamp"], "must be epoch seconds (a number)")
        metrics = p.get("metrics")
        if not isinstance(metrics, dict):
            err([*loc, "metrics"], "must be an object of key -> number")
            continue
        values: dict[str, float] = {}
        for key, raw in metrics.items():
            if (why := check_key(key)) is not None:
                err([*loc, "metrics", key], why)
                continue
            if type(raw) is float:
                values[key] = raw
                continue
            try:
                values[key] = decode_float(raw)
            except ValueError as exc:
                err([*loc, "metrics", key], str(exc))
        points.append((seq, step, float(ts), values))
    if errors:
        raise BatchError(errors[:MAX_ERRORS])
    return stream, points
