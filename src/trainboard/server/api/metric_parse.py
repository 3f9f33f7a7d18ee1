"""Hand parser for metric batches: faster than pydantic for 100,000-point bodies, same error shape.

Accepted bodies: ``{"stream": ..., "points": [{"seq", "step", "timestamp", "metrics": {...}}, ...]}``,
a single point ``{"step": ..., "metrics": {...}}``, or the SDK's columnar encoding
``{"stream": ..., "blocks": [{"keys": [k...], "seq0": n, "steps": b64, "timestamps": b64, "values": b64}]}``
where ``steps`` are little-endian int64, ``timestamps`` float64 and ``values`` a row-major float64
matrix (one row per step, one column per key; IEEE NaN/Infinity as themselves); row i has seq seq0 + i.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from typing import Any

import numpy as np

from trainboard.server.store.metrics import Block, Point
from trainboard.server.store.segments import F64, I64
from trainboard.wire import (
    ID_RE,
    MAX_BATCH_KEYS,
    MAX_JSON_INT,
    MAX_STEP,
    MAX_TIME,
    MIN_TIME,
    TIME_RANGE_DOC,
    check_key,
    check_step,
    decode_float,
)

MAX_ERRORS = 20


class BatchError(Exception):
    """Carries FastAPI-shaped error dicts."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(errors)
        self.errors = errors


def parse_batch(body: bytes) -> tuple[str | None, list[Point], list[Block]]:
    """Parse and validate a batch; raises ``BatchError`` listing up to 20 problems by location."""
    errors: list[dict[str, Any]] = []

    def err(loc: list[Any], msg: str) -> None:
        errors.append({"loc": ["body", *loc], "msg": msg, "type": "value_error"})

    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise BatchError(
            [{"loc": ["body"], "msg": f"invalid JSON: {str(exc)[:200]}", "type": "json_invalid"}]
        ) from None
    if not isinstance(doc, dict):
        raise BatchError([{"loc": ["body"], "msg": "must be a JSON object", "type": "type_error"}])
    form = _TOP_KEYS["blocks"] if "blocks" in doc else _TOP_KEYS["points"] if "points" in doc else _POINT_KEYS
    for extra in [k for k in doc if k not in form][:MAX_ERRORS]:
        err([str(extra)[:64]], "unknown field")
    stream = doc.get("stream")
    if stream is not None and (not isinstance(stream, str) or not ID_RE.match(stream)):
        err(["stream"], "must be 1-64 characters of A-Z a-z 0-9 _ -")
    if "blocks" in doc:
        blocks = _parse_blocks(doc["blocks"], err)
        if errors:
            raise BatchError(errors[:MAX_ERRORS])
        return stream, [], blocks
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
        if prefix:
            for extra in [k for k in p if k not in _POINT_KEYS or k == "stream"][:MAX_ERRORS]:
                err([*loc, str(extra)[:64]], "unknown field")
        before = len(errors)
        seq = _integral(p.get("seq"))
        if seq is not None and (type(seq) is not int or not 0 <= seq <= MAX_JSON_INT):
            err([*loc, "seq"], f"must be an integer in [0, {MAX_JSON_INT}]")
        step = _integral(p.get("step"))
        if step is not None and (why := check_step(step)):
            err([*loc, "step"], why)
        ts = p.get("timestamp")
        if ts is None:
            ts = now
        elif type(ts) not in (int, float) or not (MIN_TIME <= ts <= MAX_TIME):
            err([*loc, "timestamp"], f"must be epoch seconds (a number) in {TIME_RANGE_DOC}")
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
            if type(raw) is bool:
                err([*loc, "metrics", key], "must be a number, got bool")
                continue
            try:
                values[key] = decode_float(raw)
            except ValueError as exc:
                err([*loc, "metrics", key], str(exc))
        if len(errors) == before:
            points.append((seq, step, float(ts), values))
    keys = {k for _s, _t, _w, v in points for k in v}
    if len(keys) > MAX_BATCH_KEYS:
        err([*prefix], f"has {len(keys)} distinct metric keys; the limit is {MAX_BATCH_KEYS} per batch")
    if errors:
        raise BatchError(errors[:MAX_ERRORS])
    return stream, points, []


#: Fields of each body form: a batch of points, the SDK's columnar blocks, a single point.
_TOP_KEYS = {"points": frozenset({"stream", "points"}), "blocks": frozenset({"stream", "blocks"})}
_POINT_KEYS = frozenset({"stream", "seq", "step", "timestamp", "metrics"})


def _array(raw: object, dtype: np.dtype[Any], loc: list[Any], err: Any) -> Any:
    if not isinstance(raw, str):
        err(loc, "must be a base64 string")
        return None
    try:
        data = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        err(loc, "is not valid base64")
        return None
    if len(data) % 8:
        err(loc, "length must be a multiple of 8 bytes")
        return None
    return np.frombuffer(data, dtype)


def _integral(value: Any) -> Any:
    """JSON Schema's integers include ``3.0``: such a float becomes the int (``true`` stays a bool)."""
    return int(value) if type(value) is float and value.is_integer() else value


_BLOCK_KEYS = frozenset({"keys", "seq0", "steps", "timestamps", "values"})


def _parse_blocks(raw_blocks: object, err: Any) -> list[Block]:
    if not isinstance(raw_blocks, list):
        err(["blocks"], "must be a list")
        return []
    blocks: list[Block] = []
    total_keys: set[str] = set()
    for i, b in enumerate(raw_blocks):
        loc: list[Any] = ["blocks", i]
        if not isinstance(b, dict):
            err(loc, "each block must be an object")
            continue
        keys = b.get("keys")
        if not isinstance(keys, list) or not keys or len(set(map(str, keys))) != len(keys):
            err([*loc, "keys"], "must be a non-empty list of distinct metric keys")
            continue
        bad = [(k, why) for k in keys if (why := check_key(k))]
        for k, why in bad:
            err([*loc, "keys", str(k)], why)
        steps = _array(b.get("steps"), I64, [*loc, "steps"], err)
        times = _array(b.get("timestamps"), F64, [*loc, "timestamps"], err)
        values = _array(b.get("values"), F64, [*loc, "values"], err)
        for extra in [k for k in b if k not in _BLOCK_KEYS][:MAX_ERRORS]:
            err([*loc, str(extra)[:64]], "unknown field")
        seq0 = _integral(b.get("seq0"))
        if seq0 is not None and (type(seq0) is not int or not 0 <= seq0 <= MAX_JSON_INT):
            err([*loc, "seq0"], f"must be an integer in [0, {MAX_JSON_INT}]")
        if bad or steps is None or times is None or values is None:
            continue
        n = len(steps)
        if len(times) != n or len(values) != n * len(keys):
            err(loc, f"sizes disagree: {n} steps, {len(times)} timestamps, {len(values)} values for {len(keys)} keys")
            continue
        if n and (int(steps.min()) < 0 or int(steps.max()) > MAX_STEP):
            err([*loc, "steps"], f"steps must be integers in [0, {MAX_STEP}]")
            continue
        if n and not bool(np.all((times >= MIN_TIME) & (times <= MAX_TIME))):  # NaN fails both comparisons
            err([*loc, "timestamps"], f"timestamps must be epoch seconds in {TIME_RANGE_DOC}")
            continue
        if seq0 is not None and seq0 + n - 1 > MAX_JSON_INT:
            err([*loc, "seq0"], f"seq0 + rows - 1 must be at most {MAX_JSON_INT}")
            continue
        total_keys.update(keys)
        if len(total_keys) > MAX_BATCH_KEYS:
            err(loc, f"the batch has more than {MAX_BATCH_KEYS} distinct metric keys (the limit per batch)")
            return blocks
        seqs = None if seq0 is None else np.arange(seq0, seq0 + n, dtype=I64)
        blocks.append(Block(keys=list(keys), seqs=seqs, steps=steps, times=times, values=values.reshape(n, len(keys))))
    return blocks
