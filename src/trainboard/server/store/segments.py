"""Columnar point segments: encoding, merging (later segments win) and spike-preserving downsampling.

Pure functions over numpy arrays; no database access here. Segments are stored compressed
(``store/codec.py``: delta-of-delta steps and times, byte-shuffled zstd values); ``codec`` 0 marks the
raw little-endian arrays written before migration 0008, still read as they are.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from trainboard.server.store import codec as col

I64 = np.dtype("<i8")
F64 = np.dtype("<f8")

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


@dataclass
class Points:
    """Points of one series, sorted by step, one per step."""

    steps: IntArray
    values: FloatArray
    times: FloatArray

    def __len__(self) -> int:
        return len(self.steps)

    @classmethod
    def empty(cls) -> Points:
        return cls(np.empty(0, I64), np.empty(0, F64), np.empty(0, F64))

    def slice_steps(self, lo: int, hi: int) -> Points:
        a = int(np.searchsorted(self.steps, lo, "left"))
        b = int(np.searchsorted(self.steps, hi, "right"))
        return Points(self.steps[a:b], self.values[a:b], self.times[a:b])

    def take(self, idx: IntArray) -> Points:
        return Points(self.steps[idx], self.values[idx], self.times[idx])


def encode(steps: Iterable[int], values: Iterable[float], times: Iterable[float]) -> tuple[bytes, bytes, bytes]:
    """Raw (codec 0) columns."""
    return (np.fromiter(steps, I64).tobytes(), np.fromiter(values, F64).tobytes(), np.fromiter(times, F64).tobytes())


def compress(steps: IntArray, values: FloatArray, times: FloatArray) -> tuple[bytes, bytes, bytes]:
    """Compressed (codec 1) columns of one segment."""
    return col.encode_ints(steps), col.encode_values(values), col.encode_times(times)


def decode(steps: bytes, values: bytes, times: bytes, codec: int) -> Points:
    """One stored segment's columns, as written (not sorted)."""
    out = Points(col.decode_ints(steps, codec), col.decode_floats(values, codec), col.decode_floats(times, codec))
    if not len(out.steps) == len(out.values) == len(out.times):
        raise ValueError("segment columns differ in length")
    return out


def merge(segments: list[tuple[bytes, bytes, bytes]]) -> Points:
    """Decode raw segments given in write order into sorted points; for a repeated step the later wins."""
    return merge_points([decode(s, v, t, col.RAW) for s, v, t in segments])


def merge_points(parts: list[Points]) -> Points:
    """Decoded segments given in write order, as sorted points; for a repeated step the later wins."""
    if not parts:
        return Points.empty()
    if len(parts) == 1:
        steps, values, times = parts[0].steps, parts[0].values, parts[0].times
    else:
        steps = np.concatenate([p.steps for p in parts])
        values = np.concatenate([p.values for p in parts])
        times = np.concatenate([p.times for p in parts])
    if len(steps) < 2 or bool(np.all(steps[1:] > steps[:-1])):
        return Points(steps, values, times)  # append-only: already sorted and unique
    order = np.argsort(steps, kind="stable")  # equal steps stay in write order
    steps, values, times = steps[order], values[order], times[order]
    keep = np.ones(len(steps), dtype=bool)
    keep[:-1] = steps[1:] != steps[:-1]  # keep the last of each run of equal steps
    return Points(steps[keep], values[keep], times[keep])


def downsample(points: Points, max_points: int) -> Points:
    """At most ``max_points`` points: per step bucket the min, the max, the last and the first NaN.

    Buckets split the step range evenly; +/-Infinity are extremes like any value, so they survive too.
    """
    n = len(points)
    if n <= max_points:
        return points
    buckets = max(1, max_points // 4)
    first, last = int(points.steps[0]), int(points.steps[-1])
    width = max(1, math.ceil((last - first + 1) / buckets))
    edges = np.searchsorted(points.steps, first + width * np.arange(buckets + 1, dtype=np.int64), "left")
    values = points.values
    nan = np.isnan(values)
    nan_idx = np.flatnonzero(nan)
    has_nan = len(nan_idx) > 0
    clean = np.where(nan, np.inf, values) if has_nan else values
    clean_hi = np.where(nan, -np.inf, values) if has_nan else values
    picked: list[int] = []
    for a, b in zip(edges[:-1].tolist(), edges[1:].tolist(), strict=True):
        if a >= b:
            continue
        i_min = a + int(np.argmin(clean[a:b]))
        i_max = a + int(np.argmax(clean_hi[a:b]))
        if not nan[i_min]:
            picked.append(i_min)
        if not nan[i_max]:
            picked.append(i_max)
        picked.append(b - 1)
        if has_nan:
            k = int(np.searchsorted(nan_idx, a))
            if k < len(nan_idx) and nan_idx[k] < b:
                picked.append(int(nan_idx[k]))
    idx = np.unique(np.asarray(picked, dtype=np.int64))
    return points.take(idx)
