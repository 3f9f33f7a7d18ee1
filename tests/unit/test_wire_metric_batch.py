"""The metric batch codec (``trainboard.wire.metric_batch``): what the SDK encodes, the server decodes to the
same points; whatever else arrives is refused with ``MetricBatchError`` naming where, never another exception."""

from __future__ import annotations

import base64
import json
import math
import struct
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from trainboard.wire import MAX_BATCH_KEYS, MAX_JSON_INT, MAX_STEP, MAX_TIME, MIN_TIME, encode_float
from trainboard.wire.metric_batch import BlockEncoder, MetricBatch, MetricBatchError, decode_batch, encode_blocks

Row = tuple[int, int, float, dict[str, float]]

keys = st.text(
    alphabet=st.characters(exclude_categories=["Cs"], exclude_characters=[chr(i) for i in range(32)] + ["\x7f"]),
    min_size=1,
    max_size=256,
)
values = st.floats(allow_nan=True, allow_infinity=True) | st.integers(-(2**64), 2**64)
steps = st.integers(0, MAX_STEP)
times = st.floats(MIN_TIME, MAX_TIME)
#: Rows of a batch: a few key sets (so that blocks open and close), each row with its own step, time and values.
key_sets = st.lists(st.lists(keys, min_size=1, max_size=40, unique=True), min_size=1, max_size=4)


@st.composite
def batches(draw: st.DrawFn) -> list[Row]:
    sets = draw(key_sets)
    seq = draw(st.integers(0, 2**40))
    rows: list[Row] = []
    for _ in range(draw(st.integers(0, 30))):
        ks = draw(st.sampled_from(sets))
        vals = {k: draw(values) for k in ks}
        rows.append((seq, draw(steps), draw(times), vals))
        seq += 1
    return rows


def as_sent(v: float) -> float:
    """What a value becomes on the wire: a float64 (an int beyond float range: +/-inf)."""
    try:
        return float(v)
    except OverflowError:
        return math.inf if v > 0 else -math.inf


def same(a: float, b: float) -> bool:
    return struct.pack("<d", a) == struct.pack("<d", b) or (math.isnan(a) and math.isnan(b))


def rows_of(batch: MetricBatch) -> list[Row]:
    out: list[Row] = []
    for block in batch.blocks:
        k = len(block.keys)
        assert block.seq0 is not None
        for i in range(len(block.steps)):
            vals = dict(zip(block.keys, block.values[i * k : (i + 1) * k], strict=True))
            out.append((block.seq0 + i, block.steps[i], block.times[i], vals))
    return out


def encode(rows: list[Row], stream: str | None = "s") -> str:
    enc = BlockEncoder()
    for seq, step, ts, vals in rows:
        enc.add(seq, step, ts, vals)
    return encode_blocks(stream, enc.take())


def assert_same_rows(got: list[Row], sent: list[Row]) -> None:
    assert len(got) == len(sent)
    for (gseq, gstep, gts, gvals), (seq, step, ts, vals) in zip(got, sent, strict=True):
        assert (gseq, gstep, gts) == (seq, step, ts)
        assert list(gvals) == list(vals)
        assert all(same(gvals[k], as_sent(vals[k])) for k in vals), (gvals, vals)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batches())
@example([])  # an empty batch
@example([(0, MAX_STEP, MAX_TIME, {"loss": math.nan, "λ/ü 🚀": math.inf, "k": -math.inf, "big": 10**400})])
@example([(7, 0, MIN_TIME, {f"key{i}": float(i) for i in range(2000)})])  # many keys
def test_blocks_round_trip(rows: list[Row]) -> None:
    batch = decode_batch(encode(rows).encode())
    assert batch.stream == "s" and batch.points == []
    assert_same_rows(rows_of(batch), rows)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.none() | st.integers(0, MAX_JSON_INT),
            st.none() | steps,
            times,
            st.dictionaries(keys, st.floats(allow_nan=True, allow_infinity=True), max_size=20),
        ),
        max_size=20,
    )
)
def test_points_round_trip(points: list[tuple[int | None, int | None, float, dict[str, float]]]) -> None:
    body = {
        "stream": "s",
        "points": [
            {"seq": seq, "step": step, "timestamp": ts, "metrics": {k: encode_float(v) for k, v in vals.items()}}
            for seq, step, ts, vals in points
        ],
    }
    batch = decode_batch(json.dumps(body, allow_nan=False))
    assert batch.blocks == [] and len(batch.points) == len(points)
    for got, sent in zip(batch.points, points, strict=True):
        assert got[:3] == sent[:3] and list(got[3]) == list(sent[3])
        assert all(same(got[3][k], v) for k, v in sent[3].items())


def test_the_key_limit_is_the_batch_limit() -> None:
    at_limit = [(0, 0, MIN_TIME, {f"k{i}": 1.0 for i in range(MAX_BATCH_KEYS)})]
    assert len(rows_of(decode_batch(encode(at_limit)))) == 1
    over = [*at_limit, (1, 1, MIN_TIME, {"one more": 1.0})]
    with pytest.raises(MetricBatchError) as exc:
        decode_batch(encode(over))
    assert "10000 distinct metric keys" in exc.value.errors[0]["msg"]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
block_fields = st.sampled_from(["keys", "seq0", "steps", "timestamps", "values", "extra"])
b64 = st.binary(max_size=40).map(lambda b: base64.b64encode(b).decode())


def refused_or_decoded(body: bytes | str) -> None:
    """Either a batch or ``MetricBatchError`` with located messages: never another exception."""
    try:
        batch = decode_batch(body)
    except MetricBatchError as exc:
        assert exc.errors and len(exc.errors) <= 20
        for e in exc.errors:
            assert e["loc"][0] == "body" and isinstance(e["msg"], str) and e["msg"]
        return
    assert isinstance(batch, MetricBatch)
    for block in batch.blocks:
        assert len(block.values) == len(block.steps) * len(block.keys) and len(block.times) == len(block.steps)
        assert all(0 <= s <= MAX_STEP for s in block.steps) and all(MIN_TIME <= t <= MAX_TIME for t in block.times)


@settings(max_examples=300, deadline=None)
@given(batches(), block_fields, json_values | b64)
def test_a_block_with_a_field_replaced_is_refused_by_location_or_decoded(
    rows: list[Row], name: str, replacement: Any
) -> None:
    doc = json.loads(encode(rows) if rows else encode([(0, 0, MIN_TIME, {"k": 1.0})]))
    doc["blocks"][0][name] = replacement
    refused_or_decoded(json.dumps(doc))


@settings(max_examples=300, deadline=None)
@given(json_values)
@example({"blocks": [{"keys": ["a"], "seq0": "x", "steps": "", "timestamps": "", "values": ""}]})
@example(
    {
        "blocks": [
            {"keys": ["a"], "seq0": MAX_JSON_INT, "steps": "AAAAAAAAAAABAAAAAAAAAA==", "timestamps": "", "values": ""}
        ]
    }
)
@example({"points": [{"metrics": {"a": True}, "step": -1, "seq": 1.5, "timestamp": "now"}]})
@example({"step": 1.0, "metrics": {"": 1, "a\x00": "NaN", "b": "nan"}})
def test_any_json_is_refused_by_location_or_decoded(doc: Any) -> None:
    refused_or_decoded(json.dumps(doc))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes_are_refused_or_decoded(body: bytes) -> None:
    refused_or_decoded(body)


def test_errors_name_the_block_field() -> None:
    nan = base64.b64encode(struct.pack("<d", math.nan)).decode()
    one = base64.b64encode(struct.pack("<q", 1)).decode()
    doc = {"blocks": [{"keys": ["a"], "seq0": 0, "steps": one, "timestamps": nan, "values": nan}]}
    with pytest.raises(MetricBatchError) as exc:
        decode_batch(json.dumps(doc))
    assert exc.value.errors == [
        {
            "loc": ["body", "blocks", 0, "timestamps"],
            "msg": "timestamps must be epoch seconds in 1971-01-01T00:00:00Z .. 2200-01-01T00:00:00Z",
            "type": "value_error",
        }
    ]
