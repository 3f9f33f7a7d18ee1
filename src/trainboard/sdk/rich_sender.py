"""The rich-value thread: turns logged ``Histogram``/``Image``/``Text``/``Table`` values into upload operations.

``log_metrics`` hands rich values here and returns; this one daemon thread computes each value's wire form
(``RichValue.payload``: a tensor's histogram, PNG encoding) and queues ``POST /api/runs/{id}/rich`` operations on
the pipeline, so they go through the same journal as everything else: spooled to disk when the server is away,
uploaded later by the next start or ``trainboard sync``. The server keeps one value per (run, key, step), so a
re-sent request stores nothing twice. A value that fails here is reported once per key and skipped.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from trainboard.sdk import notices
from trainboard.sdk.rich import RichValue
from trainboard.sdk.task_thread import TaskThread
from trainboard.wire.rich import MAX_VALUES_PER_REQUEST

#: One request carries about this many bytes of values at most (the server's body limit is 32 MiB).
MAX_REQUEST_BYTES = 12 * 1024 * 1024

Submit = Callable[[str, str, dict[str, Any]], None]


class RichSender:
    """One daemon thread encoding rich values in the order they were logged and queueing their upload."""

    def __init__(self, run_id: str, op: Submit) -> None:
        self._path = f"/api/runs/{run_id}/rich"
        self._op = op
        self._thread = TaskThread("trainboard-rich", "rich values skipped")
        self._warned: set[str] = set()

    def submit(self, step: int, ts: float, values: dict[str, RichValue]) -> None:
        self._thread.submit(lambda: self._encode(step, ts, values))

    def _encode(self, step: int, ts: float, values: dict[str, RichValue]) -> None:
        batch: list[dict[str, Any]] = []
        size = 0
        for key, value in values.items():
            try:
                body = value.payload()
            except Exception as exc:
                if key not in self._warned:
                    self._warned.add(key)
                    notices.notice(f"log_metrics: {value.kind} {key!r} at step {step} skipped: {exc}")
                continue
            body |= {"key": key, "step": step, "time": ts}
            cost = _approx_size(body)
            if batch and (len(batch) >= MAX_VALUES_PER_REQUEST or size + cost > MAX_REQUEST_BYTES):
                self._op("POST", self._path, {"values": batch})
                batch, size = [], 0
            batch.append(body)
            size += cost
        if batch:
            self._op("POST", self._path, {"values": batch})

    def wait(self, timeout: float) -> bool:
        """Wait until every value submitted so far is queued for upload; False on timeout."""
        return self._thread.wait(timeout)

    def close(self, timeout: float) -> None:
        self._thread.close(timeout)


def _approx_size(body: dict[str, Any]) -> int:
    return len(json.dumps(body, separators=(",", ":")))
