"""The public shape of stored rows, shared by the HTTP API (``api.schemas``) and live messages
(``stream.publish``), so that a run reads the same in a response and in a WebSocket message."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any


def iso(ts: float | None) -> str | None:
    """Epoch seconds -> ISO 8601 UTC. ``None`` stays ``None``, and so becomes a time no date can show (stored
    by an earlier version without range checks): one bad row must not fail a whole list."""
    if ts is None or not math.isfinite(ts):
        return None
    try:
        return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")
    except (ValueError, OverflowError, OSError):
        return None


def public_run(row: Mapping[str, Any]) -> dict[str, Any]:
    """A ``runs`` row as the API shows it (the fields of ``api.schemas.RunPublic``, times in ISO 8601)."""
    return {
        "id": row["id"],
        "name": row["name"],
        "project": row["project"],
        "status": row["status"],
        "config": row["config"],
        "start_time": iso(row["start_time"]),
        "end_time": iso(row["end_time"]),
        "exit_code": row["exit_code"],
        "heartbeat_time": iso(row["heartbeat_time"]),
        "last_step": row["last_step"],
        "log_size": row["log_size"],
        "created_by": row.get("created_by"),
        "tags": list(row.get("tags") or ()),
        "notes": row.get("notes") or "",
        "archived": bool(row.get("archived")),
    }
