"""One daemon thread running submitted tasks in order, off the training loop.

The SDK's slow work that must keep its order (validating and registering checkpoints, encoding rich values)
runs here: ``submit`` returns at once, ``wait`` lets ``finish`` wait until what was submitted has run, and a
task that raises is reported through ``notices`` and never reaches training.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable

from trainboard.sdk import notices


class TaskThread:
    """Runs tasks in submission order on one daemon thread, started with the first task."""

    def __init__(self, name: str, failed: str) -> None:
        self._name = name
        self._failed = failed  # what a failure notice says before the exception
        self._tasks: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._pending = 0
        self._done = threading.Condition()

    def submit(self, task: Callable[[], None]) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
            self._thread.start()
        with self._done:
            self._pending += 1
        self._tasks.put(task)

    def _run(self) -> None:
        while True:
            task = self._tasks.get()
            if task is None:
                return
            try:
                task()
            except Exception as exc:  # never reaches training
                notices.notice(f"{self._failed}: {exc!r}")
            finally:
                with self._done:
                    self._pending -= 1
                    self._done.notify_all()

    def wait(self, timeout: float) -> bool:
        """Wait until every task submitted so far has run; False on timeout."""
        with self._done:
            return self._done.wait_for(lambda: self._pending == 0, timeout)

    def close(self, timeout: float) -> None:
        """Wait (up to ``timeout``) for what was submitted, then stop the thread."""
        if self._thread is not None:
            self.wait(timeout)
            self._tasks.put(None)
            self._thread.join(1.0)
