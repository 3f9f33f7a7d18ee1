"""The SDK's rich-value thread (``sdk/rich_sender.py``): values become ``POST /api/runs/{id}/rich`` operations in
the order logged, split to stay under the request limits; a value that fails is said once per key and skipped,
the others of its step still go."""

from __future__ import annotations

from typing import Any

import pytest

import trainboard
from trainboard.sdk import notices
from trainboard.sdk.rich import RichValue
from trainboard.sdk.rich_sender import RichSender


class Broken(RichValue):
    kind = "text"

    def _body(self) -> dict[str, Any]:
        raise ValueError("cannot encode this")


def test_values_are_queued_in_order_and_a_broken_one_is_said_once(monkeypatch: pytest.MonkeyPatch) -> None:
    said: list[str] = []
    monkeypatch.setattr(notices, "notice", said.append)
    ops: list[tuple[str, str, dict[str, Any]]] = []
    sender = RichSender("run-1", lambda method, path, body: ops.append((method, path, body)))
    for step in range(3):
        sender.submit(step, 1.7e9 + step, {"t": trainboard.Text(f"s{step}"), "bad": Broken()})
    assert sender.wait(10)
    sender.close(10)
    assert [(m, p) for m, p, _ in ops] == [("POST", "/api/runs/run-1/rich")] * 3
    assert [[(v["key"], v["step"], v["text"]["text"]) for v in body["values"]] for _, _, body in ops] == [
        [("t", 0, "s0")],
        [("t", 1, "s1")],
        [("t", 2, "s2")],
    ]
    assert len(said) == 1 and "'bad' at step 0 skipped: cannot encode this" in said[0]


def test_many_values_of_a_step_are_split_into_requests_under_the_limits() -> None:
    ops: list[dict[str, Any]] = []
    sender = RichSender("r", lambda _m, _p, body: ops.append(body))
    sender.submit(0, 1.7e9, {f"k{i}": trainboard.Text("x") for i in range(600)})
    sender.submit(1, 1.7e9, {f"big{i}": trainboard.Text("y" * 900_000) for i in range(30)})
    assert sender.wait(30)
    sender.close(10)
    sizes = [len(body["values"]) for body in ops]
    assert sizes[:3] == [256, 256, 88]  # MAX_VALUES_PER_REQUEST
    assert sum(sizes[3:]) == 30 and max(sizes[3:]) <= 13  # ~12 MiB a request
