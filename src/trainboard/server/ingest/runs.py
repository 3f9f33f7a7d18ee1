"""Run changes: create, update (status, name, tags, notes, ...), delete — from the API, the heartbeat
watchdog and the launch service alike.

A job that changes runs returns its value and the ``Transition``s it made (old and new rows as
``store.runs.update_run`` returns them). The write path then, in the same transaction, makes the open log
lines of every run that stopped running final and records the ``run_updated`` feed event when asked; after
the commit it settles the ended runs' metric segments, publishes the final lines, the status change and
the run update, and hands ``LineBatch``, ``StatusChange`` and ``RunAnnotated`` to the subscribers.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from sqlalchemy import Connection

from trainboard.server.ingest.changes import Change, RunAnnotated, RunCreated, RunDeleted, StatusChange
from trainboard.server.ingest.logs import line_batch
from trainboard.server.store import metrics as metrics_store
from trainboard.server.store.log_lines import LineRow
from trainboard.server.stream import feed
from trainboard.server.stream.publish import (
    publish_final_lines,
    publish_run_created,
    publish_run_deleted,
    publish_run_updated,
    publish_status_change,
)

if TYPE_CHECKING:
    from trainboard.server.ingest.path import WritePath
    from trainboard.server.state import AppState

T = TypeVar("T")

#: Fields of a run that ``RunAnnotated`` reports.
ANNOTATIONS = ("tags", "notes", "name", "archived")


@dataclass
class Transition:
    """A run's rows before and after a change (``store.runs.update_run``'s pair), and why."""

    old: dict[str, Any]
    new: dict[str, Any]
    reason: str | None = None


@dataclass
class _Done(Generic[T]):
    value: T
    transitions: list[Transition]
    lines: dict[str, list[LineRow]] = field(default_factory=dict)
    updated: dict[str, dict[str, Any] | None] = field(default_factory=dict)


async def commit_transitions(
    state: AppState,
    job: Callable[[Connection], tuple[T, Sequence[Transition]]],
    *,
    origin: str,
    record_updates: bool = False,
    extra: Callable[[Connection, T], Sequence[Change]] | None = None,
) -> T:
    """Run ``job`` (returning its value and the transitions it made) through the write path; returns the
    value. ``origin`` names who changed the status in ``StatusChange`` ("api", "heartbeat", "launch", ...).
    ``record_updates``: also store and publish the ``run_updated`` event of a changed name, tags, notes or
    archived flag. ``extra(conn, value)``: more changes of the job, handed on before its transitions'
    (e.g. a launch state change)."""
    path = state.ingest

    def wrapped(conn: Connection) -> _Done[T]:
        value, transitions = job(conn)
        done = _Done(value, list(transitions))
        for t in done.transitions:
            run_id = str(t.new["id"])
            if t.old.get("project") != t.new.get("project"):
                path.forget_run(run_id)
            if t.new["status"] != "running":  # the run ended (or never started): its open lines are final
                done.lines[run_id] = path.indexer.flush(conn, run_id)
            if record_updates:
                done.updated[run_id] = feed.record_update(conn, old=t.old, new=t.new)
        return done

    def changes(conn: Connection, done: _Done[T]) -> list[Change]:
        first = list(extra(conn, done.value)) if extra is not None else []
        return first + [c for t in done.transitions for c in _changes_of(path, conn, t, done.lines, origin)]

    done = await path.commit(wrapped, changes)
    for t in done.transitions:
        run_id = str(t.new["id"])
        metrics_store.settle_ended_run(state.writer, t.old, t.new)
        publish_final_lines(state.broker, run_id, done.lines.get(run_id, []))
        publish_status_change(state.broker, t.old, t.new)
        if record_updates:
            publish_run_updated(state.broker, done.updated.get(run_id))
    return done.value


def _changes_of(
    path: WritePath, conn: Connection, t: Transition, lines: dict[str, list[LineRow]], origin: str
) -> list[Change]:
    run_id = str(t.new["id"])
    out = line_batch(path, conn, run_id, lines.get(run_id, []))
    if t.old["status"] != t.new["status"]:
        out.append(
            StatusChange(
                **path.stamp(conn, run_id),
                old_status=t.old["status"],
                new_status=t.new["status"],
                exit_code=t.new.get("exit_code"),
                reason=t.reason,
                origin=origin,
            )
        )
    changed = frozenset(k for k in ANNOTATIONS if feed._field(t.old, k) != feed._field(t.new, k))
    if changed:
        out.append(
            RunAnnotated(
                **path.stamp(conn, run_id),
                changed=changed,
                tags=tuple(t.new.get("tags") or ()),
                notes=t.new.get("notes"),
                name=t.new.get("name"),
                archived=bool(t.new.get("archived")),
            )
        )
    return out


async def create_run(
    state: AppState, job: Callable[[Connection], tuple[dict[str, Any], bool, dict[str, Any] | None]]
) -> tuple[dict[str, Any], bool]:
    """``job`` returns (row, created, row before when the run existed); returns (row, created). A run that
    existed and was ``queued`` (launched, then taken over by ``trainboard run``) changes status."""
    path = state.ingest

    def changes(conn: Connection, out: tuple[dict[str, Any], bool, dict[str, Any] | None]) -> list[Change]:
        row, created, before = out
        run_id = str(row["id"])
        if created:
            return [RunCreated(**path.stamp(conn, run_id), name=row["name"], status=row["status"])]
        if before is not None:
            return _changes_of(path, conn, Transition(before, row, "started"), {}, "api")
        return []

    row, created, before = await path.commit(job, changes)
    if created:
        publish_run_created(state.broker, row)
    elif before is not None:  # a launched run that `trainboard run` took over: queued -> running, live
        publish_status_change(state.broker, before, row)
    return row, created


#: ``store.runs.update_run``'s (old, new) rows, or ``None`` (no such run).
Pair = tuple[dict[str, Any], dict[str, Any]] | None


def transitions_of(job: Callable[[Connection], tuple[Pair, T]]) -> Callable[[Connection], tuple[T, list[Transition]]]:
    """Adapt a job returning (``update_run``'s pair or ``None``, value) to ``commit_transitions``."""

    def adapted(conn: Connection) -> tuple[T, list[Transition]]:
        pair, value = job(conn)
        return value, [Transition(*pair)] if pair is not None else []

    return adapted


async def commit_created(state: AppState, job: Callable[[Connection], tuple[T, dict[str, Any]]]) -> T:
    """``job`` creates a run and returns (its value, the new run's row); the run is published and handed on
    (the launch service's queued runs)."""
    path = state.ingest

    def changes(conn: Connection, out: tuple[T, dict[str, Any]]) -> list[Change]:
        row = out[1]
        return [RunCreated(**path.stamp(conn, str(row["id"])), name=row["name"], status=row["status"])]

    value, row = await path.commit(job, changes)
    publish_run_created(state.broker, row)
    return value


async def delete_run(
    state: AppState, job: Callable[[Connection], tuple[T, dict[str, Any] | None]], *, run_id: str
) -> T:
    """``job`` deletes the run and returns (its value, the ``run_deleted`` feed message — ``None`` when
    nothing was deleted); returns the value."""
    path = state.ingest

    def wrapped(conn: Connection) -> tuple[T, dict[str, Any] | None, str]:
        project = path.project_of(conn, run_id)
        value, message = job(conn)
        if message is not None:
            path.forget_run(run_id)
            path.indexer.forget(run_id)
        return value, message, project

    def changes(conn: Connection, out: tuple[T, dict[str, Any] | None, str]) -> list[Change]:
        _value, message, project = out
        return [] if message is None else [RunDeleted(run_id=run_id, project=project, committed_at=time.time())]

    value, message, _project = await path.commit(wrapped, changes)
    if message is not None:
        state.writer.cache.clear()
        publish_run_deleted(state.broker, run_id, message)
    return value
