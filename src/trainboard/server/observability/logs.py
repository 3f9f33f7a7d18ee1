"""The server's own log as structured events: one JSON object per line (``serve --log-format json``), to
stderr or to ``--log-file`` (reopened when logrotate moves it: ``WatchedFileHandler``, so the shipped
``deploy/logrotate/trainboard`` needs no ``copytruncate`` and loses no line).

Every record has ``time`` (ISO 8601, UTC), ``level``, ``logger``, ``message`` and ``pid``; a request's
record (logger ``trainboard.access``, one per request, written when it ends) adds ``method``, ``path``,
``route``, ``status``, ``duration_ms``, ``client`` and ``run_id`` when the path names a run. An exception's
traceback is in ``exc``. With the default text format the access records are not written.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import os
import sys
import time
from datetime import UTC, datetime
from typing import Any

ACCESS_LOGGER = "trainboard.access"
#: ``LogRecord`` attributes that are not extra fields of an event.
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """A record as one line of JSON; fields passed with ``extra=`` are kept as top-level keys."""

    def format(self, record: logging.LogRecord) -> str:
        event: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                event[key] = value
        if record.exc_info:
            event["exc"] = self.formatException(record.exc_info)
        return json.dumps(event, default=str, ensure_ascii=False)


def configure(*, log_format: str, log_file: str | None, level: str = "warning") -> bool:
    """Set up the root logger for ``serve``; returns whether uvicorn must leave logging alone (JSON mode).

    ``log_format`` is ``"text"`` or ``"json"``; ``level`` is the level of everything but the access log
    (which is INFO, and written in JSON mode only)."""
    if log_format == "text" and log_file is None:
        return False
    handler: logging.Handler
    if log_file:
        os.makedirs(os.path.dirname(os.path.abspath(log_file)), exist_ok=True)
        handler = logging.handlers.WatchedFileHandler(log_file, encoding="utf-8")
    else:
        handler = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(process)d] %(message)s"))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    access = logging.getLogger(ACCESS_LOGGER)
    access.setLevel(logging.INFO if log_format == "json" else logging.WARNING)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    return True


def access_event(
    *, method: str, path: str, route: str | None, status: int, started: float, client: str | None, run_id: str | None
) -> None:
    """Write one request's record (cheap when the access log is off)."""
    logger = logging.getLogger(ACCESS_LOGGER)
    if not logger.isEnabledFor(logging.INFO):
        return
    extra: dict[str, Any] = {
        "method": method,
        "path": path,
        "route": route,
        "status": status,
        "duration_ms": round((time.perf_counter() - started) * 1000, 3),
        "client": client,
    }
    if run_id is not None:
        extra["run_id"] = run_id
    logger.info("%s %s %d", method, path, status, extra=extra)
