"""Compressed columns of metric segments and terminal chunks (format 1), decoded vectorised.

Every float64 and int64 round-trips bit-exactly (NaN payloads, -0.0, +/-Inf, any int64). A column is
one tag byte (the transform) followed by a zstd frame of the transformed array, byte-shuffled (byte 0
of every element first, then byte 1, ...), so that the slowly changing high bytes sit together:

- steps and wall times: delta-of-delta of their 64-bit patterns, zigzagged (evenly spaced steps and
  times become runs of zeros; a time is handled as its IEEE bits, so nothing is rounded);
- values: whichever of the plain bits or the zigzagged delta of the bits compresses smaller (delta
  wins for smooth curves, plain for noise); both are tried at write time (measured in
  ``bench/metric_storage.py``: 0.5 byte/point for a smooth float32 loss, ~3.4 for a noisy one, ~7 for
  float64 noise, which no lossless coder shrinks much).

Integer arithmetic wraps modulo 2**64 the same way in both directions, so the round trip holds for
every input. Raw columns (format 0, written before migration 0008) stay readable: see ``decode_column``.
"""

from __future__ import annotations

import threading

import numpy as np
import numpy.typing as npt
import zstandard

#: ``metric_segments.codec`` / ``log_chunks.codec``: 0 raw little-endian arrays (or bytes), 1 this module.
RAW = 0
ZSTD = 1

_PLAIN = 0  # the 64-bit patterns as they are
_DELTA = 1  # zigzag(delta)
_DOD = 2  # zigzag(delta of delta)

_LEVEL = 3
_local = threading.local()

U64 = np.dtype("<u8")
I64 = np.dtype("<i8")
F64 = np.dtype("<f8")


def _compressor() -> zstandard.ZstdCompressor:
    c: zstandard.ZstdCompressor | None = getattr(_local, "c", None)
    if c is None:
        c = _local.c = zstandard.ZstdCompressor(level=_LEVEL, write_checksum=False, write_content_size=True)
    return c


def _decompressor() -> zstandard.ZstdDecompressor:
    d: zstandard.ZstdDecompressor | None = getattr(_local, "d", None)
    if d is None:
        d = _local.d = zstandard.ZstdDecompressor()
    return d


def _zigzag(x: npt.NDArray[np.int64]) -> npt.NDArray[np.uint64]:
    return ((x << 1) ^ (x >> 63)).view(U64)


def _unzigzag(z: npt.NDArray[np.uint64]) -> npt.NDArray[np.int64]:
    return ((z >> np.uint64(1)) ^ (np.uint64(0) - (z & np.uint64(1)))).view(I64)


def _delta(x: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    out = np.empty_like(x)
    if len(x):
        out[0] = x[0]
        np.subtract(x[1:], x[:-1], out=out[1:])
    return out


def _pack(tag: int, words: npt.NDArray[np.uint64]) -> bytes:
    shuffled = np.ascontiguousarray(words.astype(U64, copy=False).view(np.uint8).reshape(-1, 8).T)
    return bytes((tag,)) + _compressor().compress(shuffled.tobytes())


def _bits(arr: npt.NDArray[np.int64] | npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
    return np.ascontiguousarray(arr).view(I64)


def encode_ints(arr: npt.NDArray[np.int64]) -> bytes:
    """An int64 column (steps): delta-of-delta."""
    with np.errstate(over="ignore"):
        return _pack(_DOD, _zigzag(_delta(_delta(_bits(arr.astype(I64, copy=False))))))


def encode_times(arr: npt.NDArray[np.float64]) -> bytes:
    """A float64 column that grows steadily (wall times): delta-of-delta of the IEEE bits."""
    with np.errstate(over="ignore"):
        return _pack(_DOD, _zigzag(_delta(_delta(_bits(arr.astype(F64, copy=False))))))


def encode_values(arr: npt.NDArray[np.float64]) -> bytes:
    """A float64 column of values: the smaller of plain bits and delta of the bits."""
    bits = _bits(arr.astype(F64, copy=False))
    plain = _pack(_PLAIN, bits.view(U64))
    with np.errstate(over="ignore"):
        delta = _pack(_DELTA, _zigzag(_delta(bits)))
    return delta if len(delta) < len(plain) else plain


def _decode_bits(blob: bytes) -> npt.NDArray[np.int64]:
    if not blob:
        raise ValueError("empty compressed column")
    tag = blob[0]
    raw = _decompressor().decompress(blob[1:])
    if len(raw) % 8:
        raise ValueError("compressed column is not a whole number of 64-bit words")
    n = len(raw) // 8
    words = np.frombuffer(raw, np.uint8).reshape(8, n).T.copy().view(U64).reshape(n)
    if tag == _PLAIN:
        return words.view(I64)
    x = _unzigzag(words)
    with np.errstate(over="ignore"):
        if tag == _DELTA:
            return np.cumsum(x, dtype=I64)
        if tag == _DOD:
            return np.cumsum(np.cumsum(x, dtype=I64), dtype=I64)
    raise ValueError(f"unknown column transform {tag}")


def decode_ints(blob: bytes, codec: int) -> npt.NDArray[np.int64]:
    if codec == RAW:
        return np.frombuffer(blob, I64)
    return _decode_bits(blob)


def decode_floats(blob: bytes, codec: int) -> npt.NDArray[np.float64]:
    if codec == RAW:
        return np.frombuffer(blob, F64)
    return _decode_bits(blob).view(F64)


#: Terminal chunks shorter than this are stored as they are (a zstd frame would not pay for itself).
MIN_CHUNK_COMPRESS = 96


def encode_bytes(data: bytes) -> tuple[bytes, int]:
    """Terminal bytes: ``(stored, codec)``, compressed only when that is smaller."""
    if len(data) < MIN_CHUNK_COMPRESS:
        return data, RAW
    packed = _compressor().compress(data)
    return (packed, ZSTD) if len(packed) < len(data) else (data, RAW)


def decode_bytes(stored: bytes, codec: int) -> bytes:
    return stored if codec == RAW else _decompressor().decompress(stored)
