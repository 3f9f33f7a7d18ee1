"""Subscribers plugged into a real ``trainboard serve`` through ``TRAINBOARD_SUBSCRIBERS`` (the plugin seam).

``recorder`` appends one JSON line per committed change to the file named by ``$TRAINBOARD_TEST_RECORD``
(one ``write`` per line on a file opened for appending, so several worker processes can share the file);
``failing`` raises on every change, to show that the others still get it.
"""

from __future__ import annotations

import json
import os
from typing import Any

from trainboard.server.ingest.subscribers import (
    Change,
    CheckpointRegistered,
    LineBatch,
    MetricBatch,
    StatusChange,
    Subscriber,
    TerminalOutput,
    subscriber,
)

RECORD_ENV = "TRAINBOARD_TEST_RECORD"


def describe(change: Change) -> dict[str, Any]:
    """What the tests compare: the kind, the run, and the change's content in short."""
    out: dict[str, Any] = {
        "kind": type(change).__name__,
        "run_id": change.run_id,
        "project": change.project,
        "committed_at": change.committed_at,
    }
    if isinstance(change, MetricBatch):
        out["steps"] = [[step, {k: v for k, v in values.items()}] for step, _t, values in change.steps]
    elif isinstance(change, LineBatch):
        out["lines"] = [[ln.number, ln.text] for ln in change.lines]
    elif isinstance(change, TerminalOutput):
        out["bytes"] = sum(len(c.data) for c in change.chunks)
        out["end"] = change.chunks[-1].end if change.chunks else None
    elif isinstance(change, StatusChange):
        out |= {"old": change.old_status, "new": change.new_status, "origin": change.origin}
    elif isinstance(change, CheckpointRegistered):
        out["checkpoint_id"] = change.checkpoint_id
    return out


def recorder() -> Subscriber:
    path = os.environ[RECORD_ENV]

    def record(change: Change) -> None:
        line = json.dumps({"pid": os.getpid(), **describe(change)}, default=str) + "\n"
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)

    return subscriber("recorder", record)


def failing() -> Subscriber:
    def fail(change: Change) -> None:
        raise RuntimeError(f"failing subscriber refuses {type(change).__name__}")

    return subscriber("failing", fail)
