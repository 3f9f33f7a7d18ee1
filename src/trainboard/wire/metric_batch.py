"""The metric batch codec: what ``POST /api/runs/{run_id}/metrics`` carries, encoded by the SDK and decoded
by the server, with the standard library only (neutral arrays: ``array.array``, lists, dicts).

A body is a JSON object in one of three forms:

- **Columnar blocks** (what the SDK sends):
  ``{"stream": s, "blocks": [{"keys": [k, ...], "seq0": n, "steps": b64, "timestamps": b64, "values": b64}]}``.
  ``steps`` are little-endian int64, ``timestamps`` little-endian float64 epoch seconds, ``values`` a row-major
  little-endian float64 matrix (one row per step, one column per key; IEEE NaN/Infinity as themselves), each
  base64-encoded. Row ``i`` of a block has the sequence number ``seq0 + i``. A block's keys are distinct.
- **Points**: ``{"stream": s, "points": [{"seq": n, "step": n, "timestamp": t, "metrics": {key: value}}]}``;
  every field of a point but ``metrics`` is optional. Values are numbers or the tokens ``"NaN"``,
  ``"Infinity"``, ``"-Infinity"`` (see :mod:`trainboard.wire.floats`).
- **A single point**: ``{"step": n, "timestamp": t, "metrics": {...}}``.

``stream`` (optional, 1-64 characters of ``A-Z a-z 0-9 _ -``) names the client's sequence: a row whose seq
the stream already committed is ignored, so a re-sent batch never duplicates. Limits: steps in
[0, 2**53 - 1], seqs in [0, 2**53 - 1], timestamps in 1971..2200, keys 1-256 characters without control
characters, at most 10,000 distinct keys per batch (:mod:`trainboard.wire.limits`).

A distributed run's ranks share its id: ``"rank": N`` (0 .. 2**20 - 1) at the top of a batch, on a block or
on a point says whose values they are (absent or 0: rank 0, the run's default series).

:func:`decode_batch` raises :class:`MetricBatchError` (and nothing else) for any body it refuses, listing up
to 20 problems, each with its location (``["body", "blocks", 0, "steps"]``) and a message.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import sys
import time
from array import array
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Final

from trainboard.wire.checks import check_key, check_step
from trainboard.wire.floats import decode_float
from trainboard.wire.limits import (
    ID_RE,
    MAX_BATCH_KEYS,
    MAX_JSON_INT,
    MAX_RANK,
    MAX_STEP,
    MAX_TIME,
    MIN_TIME,
    TIME_RANGE_DOC,
)

#: The columnar form as the OpenAPI description of ``POST /api/runs/{run_id}/metrics`` gives it.
BLOCKS_DOC: Final = (
    'The SDK sends the same data in a columnar form, `{"stream", "blocks": [{"keys": [k, ...], "seq0": n, '
    '"steps": b64, "timestamps": b64, "values": b64}]}`: `steps` are little-endian int64, `timestamps` '
    "little-endian float64 epoch seconds, `values` a row-major little-endian float64 matrix (one row per step, "
    "one column per key; NaN and Infinity as IEEE values), each base64-encoded; row i has the sequence number "
    "`seq0 + i`, and a block's keys are distinct. With a `stream`, rows whose seq that stream already committed "
    "are ignored (a re-sent batch never duplicates). Codec: `trainboard.wire.metric_batch`."
)

#: Problems listed in one :class:`MetricBatchError` at most.
MAX_ERRORS: Final = 20

#: A point: (seq or None, step or None, wall time, {key: value}).
WirePoint = tuple[int | None, int | None, float, dict[str, float]]


@dataclass
class WireBlock:
    """Rows sharing one key set: ``values[row * len(keys) + column]``; row i has seq ``seq0 + i``."""

    keys: list[str]
    seq0: int | None
    steps: array[int]  # typecode "q"
    times: array[float]  # typecode "d"
    values: array[float]  # typecode "d", row-major
    rank: int | None = None  # the block's rank (a distributed run); None: the batch's


@dataclass
class MetricBatch:
    """A decoded body: points (the JSON forms) or blocks (the columnar form), never both."""

    stream: str | None
    points: list[WirePoint]
    blocks: list[WireBlock]
    #: The batch's rank (``"rank"`` at the top; a distributed run's rank N); None: rank 0.
    rank: int | None = None
    #: Per point, its own ``"rank"`` (None: the batch's); None when no point has one.
    point_ranks: list[int | None] | None = None


class MetricBatchError(ValueError):
    """A refused body; ``errors`` are ``{"loc": [...], "msg": ..., "type": ...}`` dicts (FastAPI's shape)."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(errors)
        self.errors = errors


# -- encoding (the SDK) -----------------------------------------------------------------------------------


class BlockEncoder:
    """Accumulates metric rows sharing one key set into columnar blocks. Appending a row costs a few array
    appends instead of JSON-formatting every float; a new key set closes the block."""

    def __init__(self) -> None:
        self.blocks: list[dict[str, Any]] = []
        self.points = 0
        self._keys: tuple[str, ...] | None = None
        self._seq0 = 0
        self._steps = array("q")
        self._times = array("d")
        self._values = array("d")

    def add(self, seq: int, step: int, ts: float, values: dict[str, float]) -> None:
        keys = tuple(values)
        if keys != self._keys:
            self.close()
            self._keys, self._seq0 = keys, seq
        self._steps.append(step)
        self._times.append(ts)
        n = len(self._values)
        try:
            self._values.extend(values.values())
        except OverflowError:  # an int beyond float range: store it as +/-inf rather than lose the row
            del self._values[n:]
            self._values.extend(_as_float(v) for v in values.values())
        self.points += len(keys)

    def close(self) -> None:
        if self._keys is not None and self._steps:
            self.blocks.append(
                {
                    "keys": [_sendable(k) for k in self._keys],
                    "seq0": self._seq0,
                    "steps": _b64(self._steps),
                    "timestamps": _b64(self._times),
                    "values": _b64(self._values),
                }
            )
        self._keys = None
        self._steps, self._times, self._values = array("q"), array("d"), array("d")

    def take(self) -> list[dict[str, Any]]:
        """The blocks so far (the open one closed), emptied."""
        self.close()
        blocks, self.blocks, self.points = self.blocks, [], 0
        return blocks


def encode_blocks(stream: str | None, blocks: list[dict[str, Any]]) -> str:
    """The request body for blocks taken from a :class:`BlockEncoder`."""
    return json.dumps({"stream": stream, "blocks": blocks}, separators=(",", ":"))


def _sendable(key: str) -> str:
    """``key`` with every lone surrogate replaced by U+FFFD; a pair of surrogates becomes its character (as
    the SDK treats all text it sends)."""
    try:
        key.encode("utf-8")
        return key
    except UnicodeEncodeError:
        return key.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def _as_float(v: float) -> float:
    try:
        return float(v)
    except OverflowError:
        return math.inf if v > 0 else -math.inf


def _b64(arr: array[Any]) -> str:
    if sys.byteorder != "little":
        arr = array(arr.typecode, arr)
        arr.byteswap()
    return base64.b64encode(arr.tobytes()).decode("ascii")


# -- decoding (the server) --------------------------------------------------------------------------------

_Err = Callable[[list[Any], str], None]

#: Fields of each body form: a batch of points, the columnar blocks, a single point; and of a block.
_TOP_KEYS: Final = {
    "points": frozenset({"stream", "points", "rank"}),
    "blocks": frozenset({"stream", "blocks", "rank"}),
}
_POINT_KEYS: Final = frozenset({"stream", "seq", "step", "timestamp", "metrics", "rank"})
_BLOCK_KEYS: Final = frozenset({"keys", "seq0", "steps", "timestamps", "values", "rank"})
_RANK_MSG: Final = f"must be an integer in [0, {MAX_RANK}] (a rank of the run)"


def _rank(value: object, loc: list[Any], err: _Err) -> int | None:
    """A ``"rank"`` field's value (None when absent or refused, each refusal reported to ``err``)."""
    value = _integral(value)
    if value is None:
        return None
    if type(value) is not int or not 0 <= value <= MAX_RANK:
        err(loc, _RANK_MSG)
        return None
    return value


class _Errors:
    """The problems found so far, in FastAPI's shape."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def __call__(self, loc: list[Any], msg: str) -> None:
        self.items.append({"loc": ["body", *loc], "msg": msg, "type": "value_error"})

    def __len__(self) -> int:
        return len(self.items)


def decode_batch(body: bytes | str) -> MetricBatch:
    """Parse and validate a body; raises :class:`MetricBatchError` listing up to 20 problems by location."""
    err = _Errors()
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise MetricBatchError(
            [{"loc": ["body"], "msg": f"invalid JSON: {str(exc)[:200]}", "type": "json_invalid"}]
        ) from None
    if not isinstance(doc, dict):
        raise MetricBatchError([{"loc": ["body"], "msg": "must be a JSON object", "type": "type_error"}])
    form = _TOP_KEYS["blocks"] if "blocks" in doc else _TOP_KEYS["points"] if "points" in doc else _POINT_KEYS
    for extra in [k for k in doc if k not in form][:MAX_ERRORS]:
        err([str(extra)[:64]], "unknown field")
    stream = doc.get("stream")
    if stream is not None and (not isinstance(stream, str) or not ID_RE.match(stream)):
        err(["stream"], "must be 1-64 characters of A-Z a-z 0-9 _ -")
    rank = _rank(doc.get("rank"), ["rank"], err) if "points" in doc or "blocks" in doc else None
    if "blocks" in doc:
        batch = MetricBatch(stream, [], _decode_blocks(doc["blocks"], err), rank)
    else:
        batch = MetricBatch(stream, _decode_points(doc, err), [], rank)
        if "points" not in doc:
            batch.rank = _rank(doc.get("rank"), ["rank"], err)
        elif isinstance(doc["points"], list) and any(isinstance(p, dict) and "rank" in p for p in doc["points"]):
            found = [
                _rank(p.get("rank") if isinstance(p, dict) else None, ["points", i, "rank"], err)
                for i, p in enumerate(doc["points"])
            ]
            batch.point_ranks = found if len(found) == len(batch.points) else None
    if err.items:
        raise MetricBatchError(err.items[:MAX_ERRORS])
    return batch


def _decode_points(doc: dict[str, Any], err: _Errors) -> list[WirePoint]:
    if "points" in doc:
        raw_points = doc["points"]
        prefix: list[Any] = ["points"]
        if not isinstance(raw_points, list):
            raise MetricBatchError([{"loc": ["body", "points"], "msg": "must be a list", "type": "type_error"}])
    elif "metrics" in doc:
        raw_points = [doc]
        prefix = []
    else:
        raise MetricBatchError(
            [{"loc": ["body", "points"], "msg": 'field required (or a single point with "metrics")', "type": "missing"}]
        )
    now = time.time()
    points: list[WirePoint] = []
    for i, p in enumerate(raw_points):
        if len(err) >= MAX_ERRORS:
            break
        point = _decode_point(p, [*prefix, i] if prefix else [], bool(prefix), now, err)
        if point is not None:
            points.append(point)
    keys = {k for _s, _t, _w, v in points for k in v}
    if len(keys) > MAX_BATCH_KEYS:
        err([*prefix], f"has {len(keys)} distinct metric keys; the limit is {MAX_BATCH_KEYS} per batch")
    return points


def _decode_point(p: object, loc: list[Any], in_list: bool, now: float, err: _Errors) -> WirePoint | None:
    """The point, or ``None`` when it has problems (each reported to ``err``)."""
    before = len(err)
    if not isinstance(p, dict):
        err(loc, "each point must be an object")
        return None
    if in_list:
        for extra in [k for k in p if k not in _POINT_KEYS or k == "stream"][:MAX_ERRORS]:
            err([*loc, str(extra)[:64]], "unknown field")
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
        return None
    values: dict[str, float] = {}
    for key, raw in metrics.items():
        if (why := check_key(key)) is not None:
            err([*loc, "metrics", key], why)
        elif type(raw) is float:
            values[key] = raw
        elif type(raw) is bool:
            err([*loc, "metrics", key], "must be a number, got bool")
        else:
            try:
                values[key] = decode_float(raw)
            except ValueError as exc:
                err([*loc, "metrics", key], str(exc))
    if len(err) != before:
        return None
    return (seq, step, float(ts), values)


def _integral(value: Any) -> Any:
    """JSON Schema's integers include ``3.0``: such a float becomes the int (``true`` stays a bool)."""
    return int(value) if type(value) is float and value.is_integer() else value


def _array(raw: object, typecode: str, loc: list[Any], err: _Err) -> array[Any] | None:
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
    out = array(typecode)
    out.frombytes(data)
    if sys.byteorder != "little":
        out.byteswap()
    return out


def _decode_blocks(raw_blocks: object, err: _Err) -> list[WireBlock]:
    if not isinstance(raw_blocks, list):
        err(["blocks"], "must be a list")
        return []
    blocks: list[WireBlock] = []
    total_keys: set[str] = set()
    for i, b in enumerate(raw_blocks):
        block = _decode_block(b, ["blocks", i], err)
        if block is None:
            continue
        total_keys.update(block.keys)
        if len(total_keys) > MAX_BATCH_KEYS:
            err(["blocks", i], f"the batch has more than {MAX_BATCH_KEYS} distinct metric keys (the limit per batch)")
            return blocks
        blocks.append(block)
    return blocks


def _decode_block(b: object, loc: list[Any], err: _Err) -> WireBlock | None:
    if not isinstance(b, dict):
        err(loc, "each block must be an object")
        return None
    keys = b.get("keys")
    if not isinstance(keys, list) or not keys or len(set(map(str, keys))) != len(keys):
        err([*loc, "keys"], "must be a non-empty list of distinct metric keys")
        return None
    bad = [(k, why) for k in keys if (why := check_key(k))]
    for k, why in bad:
        err([*loc, "keys", str(k)], why)
    steps = _array(b.get("steps"), "q", [*loc, "steps"], err)
    times = _array(b.get("timestamps"), "d", [*loc, "timestamps"], err)
    values = _array(b.get("values"), "d", [*loc, "values"], err)
    for extra in [k for k in b if k not in _BLOCK_KEYS][:MAX_ERRORS]:
        err([*loc, str(extra)[:64]], "unknown field")
    seq0 = _integral(b.get("seq0"))
    if seq0 is not None and (type(seq0) is not int or not 0 <= seq0 <= MAX_JSON_INT):
        err([*loc, "seq0"], f"must be an integer in [0, {MAX_JSON_INT}]")
        return None
    if bad or steps is None or times is None or values is None:
        return None
    n = len(steps)
    if len(times) != n or len(values) != n * len(keys):
        err(loc, f"sizes disagree: {n} steps, {len(times)} timestamps, {len(values)} values for {len(keys)} keys")
        return None
    if n and (min(steps) < 0 or max(steps) > MAX_STEP):
        err([*loc, "steps"], f"steps must be integers in [0, {MAX_STEP}]")
        return None
    if n and not _times_in_range(times):
        err([*loc, "timestamps"], f"timestamps must be epoch seconds in {TIME_RANGE_DOC}")
        return None
    if seq0 is not None and seq0 + n - 1 > MAX_JSON_INT:
        err([*loc, "seq0"], f"seq0 + rows - 1 must be at most {MAX_JSON_INT}")
        return None
    return WireBlock(
        keys=list(keys),
        seq0=seq0,
        steps=steps,
        times=times,
        values=values,
        rank=_rank(b.get("rank"), [*loc, "rank"], err),
    )


def _times_in_range(times: Iterable[float]) -> bool:
    """All finite and within the accepted range, at C speed: a NaN or an infinity makes the sum non-finite
    (in-range values cannot overflow it), and ``min``/``max`` are exact for finite values."""
    values = list(times) if not isinstance(times, array) else times
    return math.isfinite(sum(values)) and min(values) >= MIN_TIME and max(values) <= MAX_TIME
