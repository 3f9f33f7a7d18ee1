"""One sink's runner: a bounded buffer the subscriber appends to, drained by the sink's own thread.

``offer`` never waits (it takes a lock for as long as a few appends): a sink that is down or stuck in a request
only fills its buffer, and beyond ``max_buffer`` records the oldest are dropped and counted. The thread sends
batches of up to ``batch_size`` records (or what came within ``batch_interval``); a failed batch is retried with
exponential backoff (0.5 s doubling to 30 s) until it goes through — a sink that answers that the batch itself is
wrong (a 4xx other than 408/429) has it dropped as ``rejected`` instead, since sending it again cannot help.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from trainboard.server.export.config import SinkConfig
from trainboard.server.export.records import Record
from trainboard.server.observability.metrics import EXPORT_DROPPED, EXPORT_FAILED, EXPORTED

__all__ = ["SendError", "Sink", "SinkRunner", "SinkStatus"]

log = logging.getLogger(__name__)

BACKOFF_FIRST = 0.5
BACKOFF_MAX = 30.0
#: Seconds between two warnings on the server log about one sink's drops or failures.
WARN_EVERY = 60.0


class SendError(Exception):
    """A batch did not go through. ``retry``: sending it again may work (the sink is down, busy, timing out)."""

    def __init__(self, message: str, *, retry: bool = True) -> None:
        super().__init__(message)
        self.retry = retry


class Sink(Protocol):
    """Sends one batch (raises ``SendError``); called from the runner's thread only."""

    def send(self, records: Sequence[Record]) -> None: ...

    def close(self) -> None: ...


@dataclass
class SinkStatus:
    """What ``GET /api/export/status`` shows for one sink (this process's figures)."""

    name: str
    type: str
    endpoint: str
    exported: int = 0
    dropped: int = 0
    rejected: int = 0
    failed_attempts: int = 0
    buffered: int = 0
    max_buffer: int = 0
    last_error: str | None = None
    last_error_at: float | None = None
    last_success_at: float | None = None
    #: A batch failed and is being retried (with backoff).
    retrying: bool = False


class SinkRunner:
    """The buffer and sending thread of one sink."""

    def __init__(self, config: SinkConfig, sink: Sink, *, endpoint_shown: str) -> None:
        self.config = config
        self.sink = sink
        self._buffer: deque[Record] = deque()
        self._cond = threading.Condition()
        self._stopping = False
        self._stop_event = threading.Event()  # wakes a backoff wait early at shutdown
        self._status = SinkStatus(config.name, config.type, endpoint_shown, max_buffer=config.max_buffer)
        self._dropped_unwarned = 0
        self._warned_at = 0.0
        self._thread = threading.Thread(target=self._run, name=f"export:{config.name}", daemon=True)
        self._dropped = EXPORT_DROPPED.labels(config.name, "buffer_full")

    def start(self) -> None:
        self._thread.start()

    # -- the subscriber's side (event loop) ---------------------------------------------------------------

    def offer(self, records: Sequence[Record]) -> None:
        """Queue ``records``; the oldest are dropped (and counted) beyond ``max_buffer``. Never waits."""
        if not records:
            return
        dropped = 0
        with self._cond:
            if self._stopping:  # a change delivered while the server shuts down
                EXPORT_DROPPED.labels(self.config.name, "shutdown").inc(len(records))
                return
            room = self.config.max_buffer - len(self._buffer)
            over = len(records) - room
            if over > 0:
                from_buffer = min(over, len(self._buffer))
                for _ in range(from_buffer):
                    self._buffer.popleft()
                dropped = over
                records = records[over - from_buffer :]
            was_empty = not self._buffer
            self._buffer.extend(records)
            if dropped:
                self._status.dropped += dropped
                self._dropped_unwarned += dropped
            if was_empty or len(self._buffer) >= self.config.batch_size:
                self._cond.notify()
        if dropped:
            self._dropped.inc(dropped)
            self._maybe_warn()

    def status(self) -> SinkStatus:
        with self._cond:
            self._status.buffered = len(self._buffer)
            return SinkStatus(**vars(self._status))

    def stop(self, timeout: float) -> None:
        """Send what is buffered for up to ``timeout`` seconds, then stop; what is left is counted as dropped."""
        with self._cond:
            self._stopping = True
            self._cond.notify()
        self._stop_event.set()
        self._thread.join(timeout)
        with self._cond:
            left = len(self._buffer)
            self._buffer.clear()
        if left:
            log.warning("export sink %r: %d records not sent at shutdown", self.config.name, left)
            EXPORT_DROPPED.labels(self.config.name, "shutdown").inc(left)
        if not self._thread.is_alive():
            self.sink.close()

    # -- the sender thread ----------------------------------------------------------------------------------

    def _maybe_warn(self) -> None:
        now = time.monotonic()
        with self._cond:
            if now - self._warned_at < WARN_EVERY or not (self._dropped_unwarned or self._status.retrying):
                return
            self._warned_at = now
            dropped, self._dropped_unwarned = self._dropped_unwarned, 0
            error, buffered = self._status.last_error, len(self._buffer)
        log.warning(
            "export sink %r (%s): %d records dropped since the last warning, %d buffered of %d; last error: %s",
            self.config.name,
            self._status.endpoint,
            dropped,
            buffered,
            self.config.max_buffer,
            error or "none",
        )

    def _take(self) -> list[Record] | None:
        """The next batch: waits for ``batch_size`` records or ``batch_interval`` after the first. ``None``: stop."""
        with self._cond:
            while not self._buffer:
                if self._stopping:
                    return None
                self._cond.wait()
            deadline = time.monotonic() + self.config.batch_interval
            while len(self._buffer) < self.config.batch_size and not self._stopping:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            n = min(self.config.batch_size, len(self._buffer))
            return [self._buffer.popleft() for _ in range(n)]

    def _run(self) -> None:
        while (batch := self._take()) is not None:
            if not self._send(batch):
                return

    def _send(self, batch: list[Record]) -> bool:
        """Send ``batch`` until it goes through or is rejected; ``False``: stopping, the batch is back in the buffer."""
        delay = BACKOFF_FIRST
        while True:
            try:
                self.sink.send(batch)
            except SendError as exc:
                failure: SendError = exc
            except Exception as exc:  # a bug or an unexpected library error: keep the thread alive, say what
                log.exception("export sink %r: sending failed", self.config.name)
                failure = SendError(f"{type(exc).__name__}: {exc}")
            else:
                with self._cond:
                    self._status.exported += len(batch)
                    self._status.last_success_at = time.time()
                    self._status.retrying = False
                EXPORTED.labels(self.config.name).inc(len(batch))
                return True
            EXPORT_FAILED.labels(self.config.name).inc()
            with self._cond:
                self._status.failed_attempts += 1
                self._status.last_error = str(failure)[:500]
                self._status.last_error_at = time.time()
                self._status.retrying = failure.retry
                if not failure.retry:
                    self._status.rejected += len(batch)
            if not failure.retry:
                EXPORT_DROPPED.labels(self.config.name, "rejected").inc(len(batch))
                log.warning("export sink %r rejected %d records: %s", self.config.name, len(batch), failure)
                return True
            self._maybe_warn()
            with self._cond:
                if self._stopping:  # at shutdown one try is all a batch gets
                    self._buffer.extendleft(reversed(batch))
                    return False
            self._stop_event.wait(delay)
            delay = min(delay * 2, BACKOFF_MAX)
