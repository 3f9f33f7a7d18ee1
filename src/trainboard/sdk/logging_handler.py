"""A ``logging.Handler`` that records log records as structured lines of the run (source ``sdk``),
with their real level and logger name. Attach it with ``monitor.attach_logging()``.

Records made by the SDK's own threads (``trainboard-*``) or during its own HTTP requests are never
recorded: uploading them would log another request, a feedback loop."""

from __future__ import annotations

import logging
from collections.abc import Callable

from trainboard.sdk.transport import in_sdk_request

#: Name prefix of every thread the SDK starts.
SDK_THREAD_PREFIX = "trainboard-"


def level_name(levelno: int) -> str:
    """The nearest standard level at or below ``levelno``."""
    for threshold, name in ((50, "CRITICAL"), (40, "ERROR"), (30, "WARNING"), (20, "INFO")):
        if levelno >= threshold:
            return name
    return "DEBUG"


class TrainboardHandler(logging.Handler):
    """Sends each record through the monitor's queue; never raises into the caller."""

    def __init__(self, sink: Callable[[float, str, str, str], None], level: int = logging.NOTSET) -> None:
        super().__init__(level)
        self._sink = sink

    def filter(self, record: logging.LogRecord) -> bool:
        if in_sdk_request() or (record.threadName or "").startswith(SDK_THREAD_PREFIX):
            return False
        return bool(super().filter(record))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
            if record.exc_info:
                message += "\n" + logging.Formatter().formatException(record.exc_info)
            self._sink(record.created, level_name(record.levelno), record.name, message)
        except Exception:
            self.handleError(record)
