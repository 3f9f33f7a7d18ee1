"""The pure parts of metric ingest: step assignment and the columnar grouping (dedupe and the write run against
a real server in tests/integration/test_metric_wire.py)."""

from __future__ import annotations

import numpy as np

from trainboard.server.store.metrics import Block, Point, assign_steps, columns


def block(keys: list[str], steps: list[int]) -> Block:
    n = len(steps)
    values = np.arange(n * len(keys), dtype=np.float64).reshape(n, len(keys))
    times = np.full(n, 1.7e9)
    return Block(keys, np.arange(n, dtype=np.int64), np.array(steps, dtype=np.int64), times, values)


def test_points_without_a_step_follow_the_last_training_step() -> None:
    points: list[Point] = [
        (None, None, 1.7e9, {"loss": 1.0}),
        (None, None, 1.7e9, {"loss": 2.0}),
        (None, 9, 1.7e9, {"a": 3.0}),
    ]
    stepped, last = assign_steps(None, points, [])
    assert [s for s, _w, _v in stepped] == [0, 1, 9] and last == 9
    stepped, last = assign_steps(41, points[:1], [])
    assert stepped[0][0] == 42 and last == 42


def test_system_samples_do_not_move_the_training_step() -> None:
    stepped, last = assign_steps(5, [(None, 1_700_000_000_000, 1.7e9, {"sys/cpu": 3.0})], [block(["sys/gpu"], [7])])
    assert stepped[0][0] == 1_700_000_000_000 and last == 5
    _stepped, last = assign_steps(5, [], [block(["loss"], [7, 8])])
    assert last == 8


def test_columns_keep_row_order_per_key() -> None:
    pieces = columns([(3, 1.7e9, {"loss": 1.0}), (4, 1.7e9, {"loss": 2.0, "acc": 0.5})], [block(["loss"], [5])])
    assert list(pieces) == ["loss", "acc"]
    assert [p[0].tolist() for p in pieces["loss"]] == [[3, 4], [5]]
    assert [p[1].tolist() for p in pieces["loss"]] == [[1.0, 2.0], [0.0]]
    assert pieces["acc"][0][0].tolist() == [4]
