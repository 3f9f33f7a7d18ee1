"""``trainboard export``'s formats: a run's metric history (``GET /api/runs/{id}/metrics``) written as CSV, JSON,
Parquet (pyarrow, the ``parquet`` extra) or TensorBoard event files (TensorBoard's own writer, the ``tensorboard``
extra; scalar summaries, as TensorBoard's readers list them). Every format holds every point: step, key, value
(float64, NaN and infinities kept) and wall time."""

from __future__ import annotations

import csv
import json
import math
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from trainboard.wire import decode_float

__all__ = ["FORMATS", "NEEDS", "rows", "write_csv", "write_json", "write_parquet", "write_tensorboard"]

FORMATS = ("csv", "json", "parquet", "tensorboard")
#: the module each format needs beyond the client, and the extra that installs it
NEEDS = {"parquet": ("pyarrow", "parquet"), "tensorboard": ("tensorboard", "tensorboard")}


def rows(history: dict[str, Any]) -> Iterator[tuple[int, str, float, float]]:
    """``(step, key, value, timestamp)`` for every point, key by key in step order."""
    for key, series in history["metrics"].items():
        for step, value, ts in zip(series["step"], series["value"], series["timestamp"], strict=True):
            yield int(step), key, decode_float(value), float(ts)


def write_csv(history: dict[str, Any], out: IO[str]) -> None:
    """Values as the API gives them: non-finite ones as ``NaN``, ``Infinity``, ``-Infinity``."""
    writer = csv.writer(out)
    writer.writerow(["step", "key", "value", "timestamp"])
    for key, series in history["metrics"].items():
        for step, value, ts in zip(series["step"], series["value"], series["timestamp"], strict=True):
            writer.writerow([step, key, value, ts])


def write_json(history: dict[str, Any], out: IO[str]) -> None:
    json.dump(history, out)
    out.write("\n")


def write_parquet(history: dict[str, Any], path: Path) -> None:
    """One row per point: ``step`` int64, ``key`` string, ``value`` float64, ``timestamp`` float64 (epoch s)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    steps, keys, values, times = [], [], [], []
    for step, key, value, ts in rows(history):
        steps.append(step)
        keys.append(key)
        values.append(value)
        times.append(ts)
    table = pa.table(
        {
            "step": pa.array(steps, pa.int64()),
            "key": pa.array(keys, pa.string()),
            "value": pa.array(values, pa.float64()),
            "timestamp": pa.array(times, pa.float64()),
        }
    )
    pq.write_table(table, str(path))


def write_tensorboard(history: dict[str, Any], folder: Path) -> Path:
    """An event file in ``folder``: each point a ``simple_value`` scalar summary with its step and wall time, the
    form TensorBoard's own readers list as scalars (``EventAccumulator.Tags()["scalars"]``, the Scalars
    dashboard). TensorBoard keeps scalars as float32; where that rounds the value, the exact float64 travels in
    the value's ``node_name`` (a field TensorBoard ignores) as ``trainboard:f64:<hex>``, which
    ``trainboard import tensorboard`` reads back, so a round trip is exact. Returns the file's path."""
    from tensorboard.compat.proto.event_pb2 import Event
    from tensorboard.compat.proto.summary_pb2 import Summary
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    from trainboard.importers.tensorboard import EXACT_PREFIX

    folder.mkdir(parents=True, exist_ok=True)
    writer = EventFileWriter(str(folder))
    try:
        for step, key, value, ts in rows(history):
            scalar = Summary.Value(tag=key, simple_value=value)
            if not math.isnan(value) and _float32(value) != value:
                scalar.node_name = EXACT_PREFIX + struct.pack("<d", value).hex()
            writer.add_event(Event(wall_time=ts, step=step, summary=Summary(value=[scalar])))
    finally:
        writer.close()
    return _newest_events(folder)


def _float32(value: float) -> float:
    """``value`` rounded to float32, as TensorBoard stores it (too large: an infinity)."""
    try:
        rounded: float = struct.unpack("<f", struct.pack("<f", value))[0]
    except OverflowError:
        return math.copysign(math.inf, value)
    return rounded


def _newest_events(folder: Path) -> Path:
    return max(folder.glob("events.out.tfevents.*"), key=lambda p: p.stat().st_mtime_ns)
