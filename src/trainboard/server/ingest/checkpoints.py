"""Checkpoints: register, mark best, delete — then live viewers and subscribers are told."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from trainboard.server.ingest.changes import Change, CheckpointBest, CheckpointRegistered
from trainboard.server.store import checkpoints as store
from trainboard.server.stream.publish import publish_checkpoint_best, publish_checkpoint_saved

if TYPE_CHECKING:
    from trainboard.server.state import AppState

#: A registration job: the stored record and whether it is new (``None``: no such run).
Registered = tuple[dict[str, Any], bool] | None


async def register(state: AppState, job: Callable[[Connection], Registered], *, run_id: str) -> Registered:
    """Run the registration ``job``; a new record of ``run_id`` is published and handed on."""
    path = state.ingest

    def changes(conn: Connection, result: Registered) -> list[Change]:
        if result is None or not result[1] or result[0]["run_id"] != run_id:
            return []
        row = result[0]
        return [
            CheckpointRegistered(
                **path.stamp(conn, run_id),
                checkpoint_id=str(row["id"]),
                step=row.get("step"),
                metrics=row.get("metrics"),
                valid=bool(row.get("valid")),
                is_best=bool(row.get("is_best")),
            )
        ]

    result = await path.commit(job, changes)
    if result is not None and result[1] and result[0]["run_id"] == run_id:
        row = result[0]
        publish_checkpoint_saved(
            state.broker,
            run_id,
            str(row["id"]),
            step=row.get("step"),
            metrics=row.get("metrics"),
            valid=bool(row.get("valid")),
            is_best=bool(row.get("is_best")),
        )
    return result


async def mark_best(state: AppState, *, checkpoint_id: str) -> dict[str, Any] | None:
    """Make the checkpoint its run's best (``None``: no such checkpoint)."""
    path = state.ingest

    def changes(conn: Connection, row: dict[str, Any] | None) -> list[Change]:
        if row is None:
            return []
        return [CheckpointBest(**path.stamp(conn, str(row["run_id"])), checkpoint_id=checkpoint_id)]

    row = await path.commit(lambda c: store.mark_best(c, checkpoint_id=checkpoint_id), changes)
    if row is not None:
        publish_checkpoint_best(state.broker, row["run_id"], checkpoint_id)
    return row


async def delete(state: AppState, job: Callable[[Connection], None]) -> None:
    """Delete a checkpoint record (``job`` removes it and notes it in the audit log)."""
    await state.ingest.commit(job)
