"""Metrics recognised in a recorded command's output (and its TensorBoard files), sent as its run's metrics.

``trainboard run`` feeds every chunk the command prints to :meth:`ParsedMetrics.on_output` (one
:class:`~trainboard.sdk.metric_parsing.MetricParser` per stream). Points wait ``grace`` seconds before they are
sent, so that the command's own SDK, which prints and logs at about the same time, has noted its keys
(``sdk_keys``): a key the SDK logged is never sent from parsing, so parsed values never override SDK ones
(a key the SDK starts logging only after parsed points of it were sent keeps those earlier points).

Parsed metrics keep their key; which keys came from parsing is recorded in the run's config under
``trainboard.parsed_keys`` (the metrics API has no per-point source), so the user can tell them apart, and how
precisely each was printed under ``trainboard.parsed_digits`` (key -> the most significant digits any of its
printed values had: a value read from ``'0.6928'`` is that number rounded to 4 digits, not the exact one).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from trainboard.sdk.metric_parsing import MetricParser, ParsedPoint, StreamGroup
from trainboard.sdk.sdk_keys import KeyReader
from trainboard.wire import check_key, check_step

if TYPE_CHECKING:
    from trainboard.sdk.monitor import TrainingMonitor

__all__ = ["CONFIG_KEY", "DIGITS_KEY", "MonitorSink", "ParsedMetrics"]

CONFIG_KEY = "trainboard.parsed_keys"
#: key -> printed significant digits (see the module docstring)
DIGITS_KEY = "trainboard.parsed_digits"


class Sink(Protocol):
    """What parsed points go to (a ``TrainingMonitor``)."""

    def log_metrics_at(self, step: int, timestamp: float, metrics: dict[str, float]) -> None: ...

    def update_config(self, values: dict[str, object]) -> None: ...


class ParsedMetrics:
    """Parses the output of one command and sends what it finds after ``grace`` seconds (see the module)."""

    def __init__(self, sink: Sink, sdk_keys: Path, *, grace: float = 1.0) -> None:
        self._sink = sink
        self._sdk = KeyReader(sdk_keys)
        self._grace = grace
        self._parsers: dict[str, MetricParser] = {}
        self._group = StreamGroup()  # (HF's dicts on stdout take their step from its bar on stderr)
        self._chunks: deque[tuple[str, bytes]] = deque()
        self._pending: deque[tuple[float, int, float, dict[str, float], dict[str, int] | None]] = deque()
        self._sent_keys: set[str] = set()
        self._digits: dict[str, int] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name="trainboard-parsed-metrics", daemon=True)
        self._thread.start()

    def on_output(self, source: str, chunk: bytes) -> None:
        """Called on the runner's reading thread: only queues (parsing happens on this object's thread, off the
        path that mirrors the output)."""
        self._chunks.append((source, chunk))

    def _parse(self) -> None:
        while self._chunks:
            source, chunk = self._chunks.popleft()
            parser = self._parsers.get(source)
            if parser is None:
                parser = self._parsers[source] = MetricParser(self._group)
            self._queue(parser.feed(chunk))

    def add_at(self, step: int, timestamp: float, metrics: dict[str, float]) -> None:
        """A point found elsewhere (a TensorBoard file) with its own wall time."""
        with self._lock:
            self._pending.append((time.monotonic(), step, timestamp, metrics, None))

    def _queue(self, points: list[ParsedPoint]) -> None:
        if not points:
            return
        now, wall = time.monotonic(), time.time()
        with self._lock:
            self._pending.extend((now, p.step, wall, p.metrics, p.digits) for p in points)

    def _loop(self) -> None:
        while not self._wake.wait(0.1):
            self._parse()
            self._send(time.monotonic() - self._grace)

    def _send(self, before: float) -> None:
        with self._lock:
            ready: list[tuple[float, int, float, dict[str, float], dict[str, int] | None]] = []
            while self._pending and self._pending[0][0] <= before:
                ready.append(self._pending.popleft())
        if not ready:
            return
        sdk = self._sdk.refresh()
        new: set[str] = set()
        finer = False  # (a key printed with more digits than before)
        for _, step, wall, metrics, digits in ready:
            values = {k: v for k, v in metrics.items() if k not in sdk}
            if values:
                new.update(values.keys() - self._sent_keys)
                self._sink.log_metrics_at(step, wall, values)
            for key, n in (digits or {}).items():
                if key in values and n > self._digits.get(key, 0):
                    self._digits[key] = n
                    finer = True
        if new or finer:
            self._sent_keys |= new
            update: dict[str, object] = {CONFIG_KEY: sorted(self._sent_keys)}
            if self._digits:
                update[DIGITS_KEY] = dict(sorted(self._digits.items()))
            self._sink.update_config(update)

    def close(self) -> None:
        """The command ended: parse the streams' unfinished last lines and send everything left."""
        if self._closed:
            return
        self._closed = True
        self._wake.set()
        self._thread.join()
        self._parse()
        for parser in self._parsers.values():
            self._queue(parser.finish())
        self._send(float("inf"))


class MonitorSink:
    """Sends parsed points through a ``TrainingMonitor``'s pipeline with their own wall time."""

    def __init__(self, monitor: TrainingMonitor) -> None:
        self._monitor = monitor

    def log_metrics_at(self, step: int, timestamp: float, metrics: dict[str, float]) -> None:
        clean = {k: v for k, v in metrics.items() if check_key(k) is None}
        if clean and check_step(step) is None:
            self._monitor._pipeline.metrics(step, timestamp, clean)  # (log_metrics stamps the time of the call)

    def update_config(self, values: dict[str, object]) -> None:
        self._monitor.update_config(values)
