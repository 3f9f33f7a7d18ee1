"""The rich-value thread: turns logged ``Histogram``/``Image``/``Text``/``Table`` values into upload operations.

``log_metrics`` hands rich values here and returns; this one daemon thread computes each value's wire form
(``RichValue.payload``: a tensor's histogram, PNG encoding) and queues ``POST /api/runs/{id}/rich`` operations on
the pipeline, so they go through the same journal as everything else: spooled to disk when the server is away,
uploaded later by the next start or ``trainboard sync``. The server keeps one value per (run, key, step), so a
re-sent request stores nothing twice. A value that fails here is reported once per key and skipped.
"""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Callable
from typing import Any

from trainboard.sdk import notices
from trainboard.sdk.rich import RichValue
from trainboard.wire.rich import MAX_VALUES_PER_REQUEST

#: One request carries about this many bytes of values at most (the server's body limit is 32 MiB).
MAX_REQUEST_BYTES = 12 * 1024 * 1024

Submit = Callable[[str, str, dict[str, Any]], None]
_Batch = tuple[int, float, dict[str, RichValue]]


class RichSender:
    """One daemon thread encoding rich values in the order they were logged and queueing their upload."""

    def __init__(self, run_id: str, op: Submit) -> None:
        self._path = f"/api/runs/{run_id}/rich"
        self._op = op
        self._tasks: queue.SimpleQueue[_Batch | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._pending = 0
        self._done = threading.Condition()
        self._warned: set[str] = set()

    def submit(self, step: int, ts: float, values: dict[str, RichValue]) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="trainboard-rich", daemon=True)
            self._thread.start()
        with self._done:
            self._pending += 1
        self._tasks.put((step, ts, values))

    def _run(self) -> None:
        while True:
            task = self._tasks.get()
            if task is None:
                return
            try:
                self._encode(*task)
            except Exception as exc:  # never reaches training
                notices.notice(f"rich values at step {task[0]} skipped: {exc!r}")
            finally:
                with self._done:
                    self._pending -= 1
                    self._done.notify_all()

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
        with self._done:
            return self._done.wait_for(lambda: self._pending == 0, timeout)

    def close(self, timeout: float) -> None:
        if self._thread is not None:
            self.wait(timeout)
            self._tasks.put(None)
            self._thread.join(1.0)


def _approx_size(body: dict[str, Any]) -> int:
    return len(json.dumps(body, separators=(",", ":")))
