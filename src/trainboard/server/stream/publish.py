"""Live publishing: the one place that turns a committed write into messages for live subscribers.

The API routes and the background jobs call these after their transaction has committed (a subscriber that
catches up from the database must find there everything it was told live). Each function is cheap when
nobody listens. The message shapes are the dashboard WebSocket's and the log streams' (see ``topics`` and
the README's "Live updates"); this module imports nothing from ``server.api``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from trainboard.server.store.log_lines import LineRow, public
from trainboard.server.stream import topics
from trainboard.server.stream.broker import Broker
from trainboard.server.views import public_run
from trainboard.wire import encode_float

#: Steps of one metric batch sent live at most (the last ones): a dashboard draws the rest from history.
MAX_LIVE_STEPS = 200

#: One step's live values: (step, wall time, {key: value}).
MetricUpdate = tuple[int, float, Mapping[str, float]]


def wants_metrics(broker: Broker, run_id: str) -> bool:
    """Whether anyone watches the run's dashboard events (else ingest need not build live updates)."""
    return broker.has_subscribers(topics.run_events(run_id))


def publish_metrics(broker: Broker, run_id: str, updates: Sequence[MetricUpdate]) -> None:
    """One ``metric_update`` per step, oldest first, of the last ``MAX_LIVE_STEPS`` steps."""
    topic = topics.run_events(run_id)
    for step, wall, values in updates[-MAX_LIVE_STEPS:]:
        broker.publish(
            topic,
            {
                "type": "metric_update",
                "run_id": run_id,
                "step": step,
                "timestamp": wall,
                "metrics": {k: encode_float(v) for k, v in values.items()},
            },
        )


def publish_run_created(broker: Broker, row: Mapping[str, Any]) -> None:
    """``row``: the run ``store.runs.create_run`` returned (its ``feed_id`` is the message's ``id``)."""
    message: dict[str, Any] = {"type": "run_created"}
    if row.get("feed_id") is not None:
        message["id"] = int(row["feed_id"])
    message["run"] = public_run(row)
    broker.publish(topics.RUNS, message)


def publish_run_deleted(broker: Broker, run_id: str, message: Mapping[str, Any] | None = None) -> None:
    """``message``: the one ``stream.feed.record_deleted`` returned (it carries the feed id)."""
    broker.publish(topics.RUNS, dict(message) if message is not None else {"type": "run_deleted", "run_id": run_id})


def publish_run_updated(broker: Broker, message: Mapping[str, Any] | None) -> None:
    """The ``run_updated`` message ``stream.feed.record_update`` returned (name, tags, notes or archived
    changed): every dashboard gets it. ``None`` (nothing shown changed) publishes nothing."""
    if message is not None:
        broker.publish(topics.RUNS, dict(message))


def publish_status_change(broker: Broker, old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
    """Tell dashboards about a status change (no-op when the status did not change); a run that ended
    also ends its log streams (``done``). ``new``: as ``store.runs.update_run`` returned it (its ``feed_id``,
    the status_change event's id, is the message's ``id``)."""
    if old["status"] == new["status"]:
        return
    message: dict[str, Any] = {"type": "status_change"}
    if new.get("feed_id") is not None:
        message["id"] = int(new["feed_id"])
    message |= {
        "run_id": new["id"],
        "old_status": old["status"],
        "new_status": new["status"],
        "exit_code": new["exit_code"],
        "run": public_run(new),
    }
    broker.publish(topics.RUNS, message)  # every dashboard socket gets run-list changes
    if new["status"] != "running":
        broker.publish(topics.run_log(new["id"]), ("done", new["exit_code"]))
        broker.publish(topics.run_rank_logs(new["id"]), ("done", new["exit_code"]))


def publish_checkpoint_saved(
    broker: Broker,
    run_id: str,
    checkpoint_id: str,
    *,
    step: int | None,
    metrics: Mapping[str, Any] | None,
    valid: bool,
    is_best: bool,
) -> None:
    broker.publish(
        topics.run_events(run_id),
        {
            "type": "checkpoint_saved",
            "run_id": run_id,
            "checkpoint_id": checkpoint_id,
            "metrics": metrics,
            "step": step,
            "valid": valid,
            "is_best": is_best,
        },
    )


def publish_checkpoint_best(broker: Broker, run_id: str, checkpoint_id: str) -> None:
    broker.publish(
        topics.run_events(run_id), {"type": "checkpoint_best", "run_id": run_id, "checkpoint_id": checkpoint_id}
    )


def publish_log_bytes(broker: Broker, run_id: str, stored: Iterable[tuple[int, str, float, bytes]]) -> None:
    """Stored raw chunks, ``(end offset, source, time, data)`` as ``store.logs.append`` returns them, to the
    run's SSE streams as ``(end offset, source, data)``."""
    topic = topics.run_log(run_id)
    if broker.has_subscribers(topic):
        for end, source, _at, data in stored:
            broker.publish(topic, (end, source, data))


def publish_rank_bytes(
    broker: Broker, run_id: str, stored: Iterable[tuple[int, str, float, bytes]], rank_ends: Sequence[int | None]
) -> None:
    """A rank's stored chunks (``store.logs.AppendResult.stored`` and ``rank_ends``) to its SSE streams as
    ``(rank, end offset in the rank's stream, source, data)``."""
    topic = topics.run_rank_logs(run_id)
    if broker.has_subscribers(topic):
        for (_end, tagged, _at, data), rank_end in zip(stored, rank_ends, strict=True):
            if rank_end is not None:
                source, _sep, rank = tagged.partition("#")
                broker.publish(topic, (int(rank), rank_end, source, data))


def publish_lines(broker: Broker, run_id: str, lines: Sequence[LineRow]) -> None:
    """Offer newly indexed (final) lines to the run's line WebSocket subscribers."""
    topic = topics.run_lines(run_id)
    if lines and broker.has_subscribers(topic):
        broker.publish(topic, [public(r) for r in lines])


def publish_open_lines(broker: Broker, run_id: str, lines: Sequence[LineRow]) -> None:
    """Offer the run's open (provisional) lines, all of them, to its line WebSocket subscribers."""
    topic = topics.run_lines(run_id)
    if broker.has_subscribers(topic):
        broker.publish(topic, {"type": "open", "lines": [public(r, provisional=True) for r in lines]})


def publish_final_lines(broker: Broker, run_id: str, lines: Sequence[LineRow]) -> None:
    """Lines a flush made final (the run ended, or its output went quiet): publish them, and since they were
    the open tail, tell the line sockets that nothing is open any more."""
    publish_lines(broker, run_id, lines)
    if lines:
        publish_open_lines(broker, run_id, [])
