"""Ingest figures for ``/metrics``: points committed and how late they were (lag from the client's clock)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from trainboard.server.observability.metrics import INGEST_LAG, POINTS


def observe_metric_batch(accepted: int, points: Sequence[tuple[Any, Any, float, Any]], blocks: Sequence[Any]) -> None:
    """Count a committed batch and observe its lag: now minus the oldest client time in it (a client whose
    clock is ahead gives 0). Blocks carry their times as arrays (``Block.times``)."""
    POINTS.inc(accepted)
    oldest = min((p[2] for p in points), default=None)
    for block in blocks:
        times = getattr(block, "times", None)
        if times is not None and len(times):
            first = float(times.min())
            oldest = first if oldest is None else min(oldest, first)
    if oldest is not None and accepted:
        INGEST_LAG.observe(max(0.0, time.time() - oldest))
