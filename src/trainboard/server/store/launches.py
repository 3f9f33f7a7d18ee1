"""Launch records: one per launched run (provider, job id, who, spec without secrets, last job state)."""

from __future__ import annotations

import json
import time
from typing import Any

from sqlalchemy import Connection, insert, select, update

from trainboard.server.store.docs import load_doc
from trainboard.server.store.tables import launches

#: Fields ``update_launch`` may change.
_MUTABLE = frozenset(
    {
        "job_id",
        "state",
        "native_state",
        "reason",
        "exit_code",
        "finished",
        "cancel_requested_at",
        "cancelled_by",
        "deploy_owner",
        "deploy_until",
    }
)


def _public(row: Any) -> dict[str, Any]:
    out = dict(row)
    out["spec"] = load_doc(out["spec"])
    out["finished"] = bool(out["finished"])
    return out


def create_launch(
    conn: Connection,
    *,
    run_id: str,
    provider: str,
    launched_by: str | None,
    spec: dict[str, Any],
    token_id: int | None = None,
    deploy_owner: str | None = None,
    deploy_until: float | None = None,
) -> dict[str, Any]:
    """``deploy_owner``/``deploy_until``: the server process about to deploy it and its lease (see
    ``renew_deploy``); cleared when the job id is recorded."""
    conn.execute(
        insert(launches).values(
            run_id=run_id,
            provider=provider,
            launched_by=launched_by,
            launched_at=time.time(),
            spec=json.dumps(spec),
            state="queued",
            finished=False,
            token_id=token_id,
            deploy_owner=deploy_owner,
            deploy_until=deploy_until,
        )
    )
    found = get_launch(conn, run_id=run_id)
    assert found is not None
    return found


def get_launch(conn: Connection, *, run_id: str, lock: bool = False) -> dict[str, Any] | None:
    """The launch record; ``lock``: hold its row until the transaction ends (``FOR UPDATE`` on PostgreSQL,
    where several server processes write; SQLite has one writer and ignores it)."""
    query = select(launches).where(launches.c.run_id == run_id)
    if lock:
        query = query.with_for_update()
    row = conn.execute(query).mappings().first()
    return _public(row) if row else None


def active_launches(conn: Connection) -> list[dict[str, Any]]:
    """Launches whose job is not known to be over (the watcher polls these)."""
    rows = conn.execute(select(launches).where(launches.c.finished.is_(False))).mappings()
    return [_public(r) for r in rows]


def renew_deploy(conn: Connection, *, run_id: str, owner: str, until: float) -> bool:
    """Extend ``owner``'s lease on a deploy still running (no job id yet, not ended meanwhile); False when the
    launch is no longer that process's to deploy (the watcher resolved it after the lease ran out)."""
    done = conn.execute(
        update(launches)
        .where(
            launches.c.run_id == run_id,
            launches.c.deploy_owner == owner,
            launches.c.job_id.is_(None),
            launches.c.finished.is_(False),
        )
        .values(deploy_until=until)
    )
    return bool(done.rowcount)


def update_launch(conn: Connection, *, run_id: str, changes: dict[str, Any]) -> None:
    unknown = set(changes) - _MUTABLE
    if unknown:
        raise ValueError(f"not updatable: {sorted(unknown)}")
    conn.execute(update(launches).where(launches.c.run_id == run_id).values(**changes))


def record_job_details(conn: Connection, *, run_id: str, details: dict[str, Any]) -> bool:
    """Merge ``details`` (facts about the job that outlive it: RunPod's ``gpu_name``, ``cost_per_hr``) into the
    launch's ``spec["job"]``; False when nothing changed."""
    row = conn.execute(select(launches.c.spec).where(launches.c.run_id == run_id)).first()
    if row is None:
        return False
    spec = load_doc(row[0])
    job = dict(spec.get("job") or {})
    merged = {**job, **{k: v for k, v in details.items() if v is not None}}
    if merged == job:
        return False
    conn.execute(update(launches).where(launches.c.run_id == run_id).values(spec=json.dumps({**spec, "job": merged})))
    return True
