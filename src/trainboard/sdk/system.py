"""Background system-metrics sampler: one daemon thread that never raises into training."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import psutil

from trainboard.sysinfo import SystemCollector

__all__ = ["SystemSampler"]

log = logging.getLogger(__name__)


class SystemSampler:
    """Calls ``on_sample(sample)`` every ``interval`` seconds from a daemon thread.

    ``sample`` is a flat ``{"sys/...": float}`` dict from :class:`trainboard.sysinfo.SystemCollector`.
    The first comes one interval after :meth:`start`, so its CPU percent and rates cover that interval.
    ``process`` (default: this process) is the one whose RSS is reported, and with its descendants the one whose
    share of each GPU the accelerator sources report (``trainboard.system_sources``; plugins enabled by
    ``$TRAINBOARD_PLUGINS``); ``gpus=False`` skips NVML and those sources.
    A sample that fails, or an ``on_sample`` that raises, is logged once as a warning and sampling goes
    on; a sample that runs late is not made up for. One sample costs about a millisecond of CPU (psutil
    reads a few ``/proc`` files; NVML takes a few calls per GPU).
    """

    def __init__(
        self,
        interval: float = 5.0,
        *,
        on_sample: Callable[[dict[str, float]], None],
        process: psutil.Process | None = None,
        gpus: bool = True,
    ) -> None:
        if not interval > 0:  # also refuses NaN
            raise ValueError(f"interval must be a positive number of seconds, not {interval!r}")
        self.interval = interval
        self._on_sample = on_sample
        self._process = process
        self._gpus = gpus
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._warned = False

    @property
    def running(self) -> bool:
        """Whether the sampling thread is alive."""
        thread = self._thread
        return thread is not None and thread.is_alive()

    def start(self) -> None:
        """Start sampling in a daemon thread; a no-op while already running."""
        with self._lock:
            if self.running:
                return
            self._stop = threading.Event()
            process = self._process if self._process is not None else psutil.Process()
            collector = SystemCollector(gpus=self._gpus)  # its first reading starts the first window
            self._thread = threading.Thread(
                target=self._run,
                args=(self._stop, collector, process),
                name="trainboard-system-sampler",
                daemon=True,
            )
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop sampling and wait (at most ``timeout`` seconds, for an ``on_sample`` in progress) for the
        thread to end. Idempotent; safe to call from ``on_sample`` itself."""
        with self._lock:
            self._stop.set()
            thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _run(self, stop: threading.Event, collector: SystemCollector, process: psutil.Process) -> None:
        due = time.monotonic() + self.interval
        while not stop.wait(max(0.0, due - time.monotonic())):
            try:
                sample = collector.collect(process)
                if not stop.is_set():
                    self._on_sample(sample)
            except Exception:  # the sampler must never take training down
                if not self._warned:
                    self._warned = True
                    log.warning(
                        "trainboard: system metrics sampling failed; further failures are not reported",
                        exc_info=True,
                    )
            now = time.monotonic()
            due += self.interval
            if due <= now:  # a sample ran late: go on from now rather than catching up in a burst
                due = now + self.interval
