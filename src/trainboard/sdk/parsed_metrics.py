"""Metrics recognised in a recorded command's output (and its TensorBoard files), sent as its run's metrics.

``trainboard run`` feeds every chunk the command prints to :meth:`ParsedMetrics.on_output` (one
:class:`~trainboard.sdk.metric_parsing.MetricParser` per stream). Points wait ``grace`` seconds before they are
sent, so that the command's own SDK, which prints and logs at about the same time, has noted its keys
(``sdk_keys``): a key the SDK logged is never sent from parsing, so parsed values never override SDK ones
(a key the SDK starts logging only after parsed points of it were sent keeps those earlier points).

Keys the command also writes to TensorBoard event files (``sdk/tb_follow.py``) come from the files only: a printed
value of such a key is never sent. So while the files are followed (``follow_files``: ``tensorboard`` is installed),
a printed point waits until the follower has looked for event files since it was printed, and when the command has
event files (a ``SummaryWriter`` flushes its scalars only every couple of minutes by default), until they have
caught up with it (a file point at least as recent as the print); then it is sent, or dropped when the files hold its
key. It waits at most :data:`TENSORBOARD_WAIT` seconds (then it is sent: a key that reaches the files only later
keeps those earlier printed points); everything left is decided when the command ends.

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

from trainboard.sdk import tb_follow
from trainboard.sdk.metric_parsing import MetricParser, ParsedPoint, StreamGroup
from trainboard.sdk.sdk_keys import KeyReader
from trainboard.wire import check_key, check_step

if TYPE_CHECKING:
    from trainboard.sdk.monitor import TrainingMonitor

__all__ = ["CONFIG_KEY", "DIGITS_KEY", "TENSORBOARD_WAIT", "MonitorSink", "ParsedMetrics"]

CONFIG_KEY = "trainboard.parsed_keys"
#: key -> printed significant digits (see the module docstring)
DIGITS_KEY = "trainboard.parsed_digits"
#: the longest (seconds) a printed point waits for the run's TensorBoard files to catch up with it
TENSORBOARD_WAIT = 180.0

#: a point waiting to be sent: (queued at, monotonic; step; wall time; metrics; printed digits; from a file)
_Pending = tuple[float, int, float, dict[str, float], dict[str, int] | None, bool]


class Sink(Protocol):
    """What parsed points go to (a ``TrainingMonitor``)."""

    def log_metrics_at(self, step: int, timestamp: float, metrics: dict[str, float]) -> None: ...

    def update_config(self, values: dict[str, object]) -> None: ...


class ParsedMetrics:
    """Parses the output of one command and sends what it finds after ``grace`` seconds (see the module)."""

    def __init__(self, sink: Sink, sdk_keys: Path, *, grace: float = 1.0, follow_files: bool | None = None) -> None:
        self._sink = sink
        self._sdk = KeyReader(sdk_keys)
        self._grace = grace
        self._parsers: dict[str, MetricParser] = {}
        self._group = StreamGroup()  # (HF's dicts on stdout take their step from its bar on stderr)
        self._chunks: deque[tuple[str, bytes]] = deque()
        self._pending: deque[_Pending] = deque()
        self._tb_follow = tb_follow.available() if follow_files is None else follow_files
        self._tb_scanned = float("-inf")  # the start of the follower's latest finished look for event files
        self._tb_files = False  # the command writes TensorBoard event files
        self._tb_keys: set[str] = set()  # keys found in them
        self._tb_wall = float("-inf")  # the newest wall time read from them
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
        """A point found in a TensorBoard file, with its own wall time; without metrics the follower's news of the
        files (``tb_follow.FOUND``: an event file, ``tb_follow.SCANNED``: a look begun at ``timestamp``)."""
        with self._lock:
            if not metrics:
                if step == tb_follow.SCANNED:
                    self._tb_scanned = max(self._tb_scanned, timestamp)
                else:
                    self._tb_files = True
                return
            self._tb_keys.update(metrics)
            self._tb_wall = max(self._tb_wall, timestamp)
            self._pending.append((time.monotonic(), step, timestamp, metrics, None, True))

    def _queue(self, points: list[ParsedPoint]) -> None:
        if not points:
            return
        now, wall = time.monotonic(), time.time()
        with self._lock:
            self._pending.extend((now, p.step, wall, p.metrics, p.digits, False) for p in points)

    def _loop(self) -> None:
        while not self._wake.wait(0.1):
            self._parse()
            self._send(time.monotonic() - self._grace)

    def _send(self, before: float, *, closing: bool = False) -> None:
        with self._lock:
            ready: list[_Pending] = []
            while self._pending and self._pending[0][0] <= before and (closing or self._caught_up(self._pending[0])):
                ready.append(self._pending.popleft())
            tb_keys = set(self._tb_keys)
        if not ready:
            return
        sdk = self._sdk.refresh()
        new: set[str] = set()
        finer = False  # (a key printed with more digits than before)
        for _, step, wall, metrics, digits, from_file in ready:
            values = {k: v for k, v in metrics.items() if k not in sdk and (from_file or k not in tb_keys)}
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

    def _caught_up(self, pending: _Pending) -> bool:
        """Whether the TensorBoard files have caught up with ``pending`` (a printed point), see the module."""
        queued, _, wall, _, _, from_file = pending
        if from_file or not self._tb_follow or time.monotonic() - queued > TENSORBOARD_WAIT:
            return True
        return self._tb_scanned >= wall and (not self._tb_files or self._tb_wall >= wall)

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
        self._send(float("inf"), closing=True)


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
