"""Compressed segment columns round-trip every int64 and float64 bit-exactly, whatever the order."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trainboard.server.store import codec
from trainboard.server.store.segments import compress, decode, merge_points

#: Any 64-bit pattern as a float: NaN with every payload and sign, -0.0, subnormals, +/-Inf.
any_float = st.integers(0, 2**64 - 1).map(lambda u: struct.unpack("<d", struct.pack("<Q", u))[0])
floats = st.one_of(any_float, st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([0.0, -0.0]))
steps = st.one_of(st.integers(-(2**63), 2**63 - 1), st.integers(0, 2**53 - 1), st.integers(0, 100))


def bits(a: np.ndarray) -> list[int]:
    return list(np.ascontiguousarray(a).view("<u8").tolist())


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(steps, floats, floats), max_size=300))
def test_a_segment_round_trips_bit_exactly(rows: list[tuple[int, float, float]]) -> None:
    s = np.array([r[0] for r in rows], "<i8")
    v = np.array([r[1] for r in rows], "<f8")
    t = np.array([r[2] for r in rows], "<f8")
    back = decode(*compress(s, v, t), codec.ZSTD)
    assert back.steps.tolist() == s.tolist()
    assert bits(back.values) == bits(v)
    assert bits(back.times) == bits(t)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 50), min_size=1, max_size=200), st.integers(0, 2**53 - 1))
def test_repeated_and_decreasing_steps_merge_to_the_last_write(offsets: list[int], start: int) -> None:
    """Steps as written (out of order, repeated): after the round trip the later value of a step wins."""
    s = np.array([start + o for o in offsets], "<i8")
    v = np.arange(len(s), dtype="<f8")
    t = v + 1.7e9
    merged = merge_points([decode(*compress(s, v, t), codec.ZSTD)])
    expected: dict[int, float] = {}
    for step, value in zip(s.tolist(), v.tolist(), strict=True):
        expected[step] = value
    assert merged.steps.tolist() == sorted(expected)
    assert merged.values.tolist() == [expected[k] for k in sorted(expected)]


def test_raw_segments_written_before_compression_stay_readable() -> None:
    s, v, t = np.array([3, 1], "<i8"), np.array([np.nan, -0.0]), np.array([1.0, 2.0])
    back = decode(s.tobytes(), v.tobytes(), t.tobytes(), codec.RAW)
    assert back.steps.tolist() == [3, 1] and bits(back.values) == bits(v)


def test_a_smooth_float32_curve_costs_under_a_byte_a_value() -> None:
    x = np.arange(100_000)
    loss = (np.exp(-x / 30_000) + 0.001 * np.sin(x / 50)).astype(np.float32).astype(np.float64)
    assert len(codec.encode_values(loss)) / len(x) < 1.5
    assert len(codec.encode_ints(x.astype("<i8"))) < 100  # evenly spaced steps: delta-of-delta zeros


@pytest.mark.parametrize("data", [b"", b"short", b"tqdm 10%|#         | 1/10\r" * 200, bytes(range(256)) * 3])
def test_terminal_bytes_round_trip(data: bytes) -> None:
    stored, how = codec.encode_bytes(data)
    assert codec.decode_bytes(stored, how) == data
    assert len(stored) <= len(data)


def test_a_corrupt_column_is_an_error_not_garbage() -> None:
    blob = codec.encode_values(np.arange(10.0))
    with pytest.raises(ValueError):
        codec.decode_floats(bytes([9]) + blob[1:], codec.ZSTD)
