"""``trainboard export --format tensorboard`` writes what TensorBoard lists as scalars, and ``import tensorboard``
reads the exact float64 values back, also those float32 cannot hold (too small, too large, too precise)."""

from __future__ import annotations

import math
import struct
from pathlib import Path

import pytest

from trainboard.cli_export import write_tensorboard
from trainboard.importers.tensorboard import read_logdir

VALUES = [0.1, 1.0000000001, 1e-300, 1e300, -1e300, -0.0, math.inf, -math.inf, math.nan, 3.0]


def float32(value: float) -> float:
    try:
        rounded: float = struct.unpack("<f", struct.pack("<f", value))[0]
    except OverflowError:
        return math.copysign(math.inf, value)
    return rounded


@pytest.fixture
def exported(tmp_path: Path) -> Path:
    pytest.importorskip("tensorboard")
    steps = [i * 7 for i in range(len(VALUES))]
    history = {"metrics": {"m": {"step": steps, "value": VALUES, "timestamp": [1e9 + s for s in steps]}}}
    write_tensorboard(history, tmp_path / "out")
    return tmp_path / "out"


def test_import_gives_back_every_float64_bit_for_bit(exported: Path) -> None:
    (run,) = list(read_logdir(exported))
    (series,) = run.series
    assert [p[0] for p in series.points] == [i * 7 for i in range(len(VALUES))]
    got = [p[2]["m"] for p in series.points]
    assert [struct.pack("<d", v) for v in got] == [struct.pack("<d", v) for v in VALUES]
    assert not run.skipped


def test_tensorboard_lists_them_as_float32_scalars(exported: Path) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    reader = EventAccumulator(str(exported))
    reader.Reload()
    assert reader.Tags()["scalars"] == ["m"]
    got = [e.value for e in reader.Scalars("m")]
    assert repr(got) == repr([float32(v) for v in VALUES])
