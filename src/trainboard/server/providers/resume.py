"""Run again, resuming: a launch that names an earlier run (``resume_from``) starts from that run's last
checkpoint. Meant for a spot pod taken back mid-training (its run ``interrupted``, reason ``preempted``), but
any run with a registered checkpoint can be resumed.

The new job's environment has ``TRAINBOARD_RESUME_FROM`` = the checkpoint's path as it was registered (a path
on the execution side, e.g. ``/workspace/trainboard/<old run>/step_900.pt`` on a RunPod network volume, or a
URL); training code loads it when set. The checkpoint has to be reachable where the new job runs: on RunPod,
launch on the same network volume (the "Run again" dialog keeps the old launch's options). Both runs get an
event naming the other (``resumed_from`` on the new run, ``resumed_as`` on the old one).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from trainboard.server.store import checkpoints as checkpoints_store
from trainboard.server.store import events as events_store
from trainboard.server.store import runs as runs_store

__all__ = ["ResumeError", "ResumePoint", "link_resumed", "resume_point"]


class ResumeError(ValueError):
    """The run to resume from cannot be resumed (unknown, or no checkpoint): a 422 naming ``resume_from``."""


@dataclass(frozen=True)
class ResumePoint:
    run_id: str
    checkpoint_id: str
    path: str
    step: int | None
    status: str
    reason: str | None

    def as_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "checkpoint_id": self.checkpoint_id, "path": self.path, "step": self.step}


def resume_point(conn: Connection, run_id: str) -> ResumePoint:
    """The last valid checkpoint ``run_id`` registered (``ResumeError`` when there is none)."""
    run = runs_store.get_run(conn, run_id=run_id)
    if run is None:
        raise ResumeError(f"run {run_id!r} not found")
    found = [c for c in checkpoints_store.list_for_run(conn, run_id=run_id) if c["valid"]]
    if not found:
        raise ResumeError(f"run {run_id!r} registered no checkpoint to resume from")
    last = found[-1]  # registration order
    return ResumePoint(
        run_id=run_id,
        checkpoint_id=str(last["id"]),
        path=str(last["path"]),
        step=last.get("step"),
        status=str(run["status"]),
        reason=run.get("status_reason"),
    )


def link_resumed(conn: Connection, point: ResumePoint, *, run_id: str) -> None:
    """Record on both runs that ``run_id`` resumes ``point.run_id`` (in the launch's transaction)."""
    step = f" (step {point.step})" if point.step is not None else ""
    data = {**point.as_dict(), "resumed_by": run_id}
    events_store.add_event(
        conn,
        run_id=run_id,
        kind="resumed_from",
        message=f"resumes run {point.run_id} from its checkpoint {point.path}{step}"[:1000],
        data=data,
    )
    events_store.add_event(
        conn,
        run_id=point.run_id,
        kind="resumed_as",
        message=f"run again as {run_id}, resuming from checkpoint {point.path}{step}"[:1000],
        data=data,
    )
