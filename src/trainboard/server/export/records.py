"""What is exported: one ``Record`` per log line or run event, built from the write path's committed changes.

A line's time is the line's own (when its bytes arrived) in whole microseconds plus its line number modulo 1000
in nanoseconds: lines that arrived together keep their order and stay distinct in sinks that drop entries with
the same time and text (Loki does).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from trainboard.server.export.config import LEVELS
from trainboard.server.ingest.changes import Change, LineBatch, StatusChange

__all__ = ["Record", "alert_record", "level_name", "records_of"]

_NO_FIELDS: Mapping[str, Any] = MappingProxyType({})
_NAMES = {5: "trace", 10: "debug", 20: "info", 25: "success", 30: "warning", 40: "error", 50: "critical"}


@dataclass(frozen=True, slots=True)
class Record:
    """One exported entry. ``labels`` hold every label known for it (a sink keeps those it is configured for)."""

    time_ns: int
    kind: str  # line | event
    text: str
    level_no: int
    labels: Mapping[str, str]
    #: Structured fields (a structured line's, an event's details): sent as OTLP attributes. Shared: never mutate.
    fields: Mapping[str, Any] = field(default_factory=dict)
    project: str = ""


def level_name(level_no: int) -> str:
    """The name of a numeric level (the nearest known one below it: 35 is ``warning``)."""
    name = _NAMES.get(level_no)
    if name is not None:
        return name
    known = [n for n in _NAMES if n <= level_no]
    return _NAMES[max(known)] if known else "trace"


def _line_records(change: LineBatch) -> list[Record]:
    """The records of a batch's lines; lines with the same level, stream and rank share one labels mapping
    (never mutated), which keeps this cheap on the event loop."""
    shared: dict[tuple[int, str | None, str, object], Mapping[str, str]] = {}
    batch_rank = getattr(change, "rank", None)
    out = []
    for line in change.lines:
        printed = getattr(line, "level_name", None)  # structured lines may carry the level as printed
        rank = getattr(line, "rank", None)  # lines of a multi-process run carry their rank (or their batch does)
        if rank is None:
            rank = batch_rank
        key = (line.level, printed, line.source, rank)
        labels = shared.get(key)
        if labels is None:
            name = printed.lower() if isinstance(printed, str) and printed else level_name(line.level)
            made = {"project": change.project, "run": change.run_id, "level": name, "stream": line.source}
            made["kind"] = "line"
            if isinstance(rank, int):
                made["rank"] = str(rank)
            labels = shared[key] = made
        fields = getattr(line, "fields", None)
        out.append(
            Record(
                time_ns=int(line.time * 1_000_000) * 1000 + line.number % 1000,
                kind="line",
                text=line.text,
                level_no=line.level,
                labels=labels,
                fields=fields if isinstance(fields, Mapping) else _NO_FIELDS,
                project=change.project,
            )
        )
    return out


def _status_record(change: StatusChange) -> Record:
    level = {"failed": 40, "interrupted": 30}.get(change.new_status, 20)
    text = f"run {change.run_id} {change.old_status} -> {change.new_status}"
    if change.exit_code is not None:
        text += f" (exit code {change.exit_code})"
    if change.reason:
        text += f": {change.reason}"
    fields: dict[str, Any] = {
        "event": "status",
        "old_status": change.old_status,
        "new_status": change.new_status,
        "origin": change.origin,
    }
    if change.exit_code is not None:
        fields["exit_code"] = change.exit_code
    return Record(
        time_ns=int(change.committed_at * 1e9),
        kind="event",
        text=text,
        level_no=level,
        labels=_event_labels(change.project, change.run_id, level),
        fields=fields,
        project=change.project,
    )


def _event_labels(project: str, run_id: str, level: int) -> dict[str, str]:
    return {"project": project, "run": run_id, "level": level_name(level), "stream": "event", "kind": "event"}


def records_of(change: Change) -> list[Record]:
    """The records of a committed change (none for the kinds that are not exported: metrics, checkpoints...)."""
    if isinstance(change, LineBatch):
        return _line_records(change)
    if isinstance(change, StatusChange):
        return [_status_record(change)]
    return []


def alert_record(event: str, alert: Mapping[str, Any], project: str, at: float) -> Record:
    """An alert firing, resolved or acknowledged (what the dashboards are told on ``/ws``)."""
    level = LEVELS.get(str(alert.get("level") or "warning").lower(), 30) if event == "firing" else 20
    title = str(alert.get("title") or "alert")
    text = f"alert {event}: {title}"
    if alert.get("message"):
        text += f": {alert['message']}"
    fields = {"event": "alert", "alert_event": event, "alert_id": alert.get("id"), "key": alert.get("key")}
    run_id = str(alert.get("run_id") or "")
    return Record(
        time_ns=int(at * 1e9),
        kind="event",
        text=text,
        level_no=level,
        labels=_event_labels(project, run_id, level),
        fields={k: v for k, v in fields.items() if v is not None},
        project=project,
    )
