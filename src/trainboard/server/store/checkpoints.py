"""Checkpoint records: register (idempotent by id), best tracking (one best per run), list, delete."""

from __future__ import annotations

import json
import time
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from trainboard.server.store.docs import load_doc
from trainboard.server.store.events import add_event
from trainboard.server.store.tables import checkpoints


def _public(row: Any) -> dict[str, Any]:
    out = dict(row)
    out["metrics"] = load_doc(out["metrics"])
    out["metadata"] = load_doc(out["metadata"])
    out["is_best"] = bool(out["is_best"])
    out["valid"] = bool(out["valid"])
    return out


def get(conn: Connection, *, checkpoint_id: str) -> dict[str, Any] | None:
    row = conn.execute(select(checkpoints).where(checkpoints.c.id == checkpoint_id)).mappings().first()
    return _public(row) if row else None


def list_for_run(conn: Connection, *, run_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(select(checkpoints).where(checkpoints.c.run_id == run_id).order_by(checkpoints.c.created_at))
    return [_public(r) for r in rows.mappings()]


def mark_best(conn: Connection, *, checkpoint_id: str, reason: str = "marked best") -> dict[str, Any] | None:
    ckpt = get(conn, checkpoint_id=checkpoint_id)
    if ckpt is None:
        return None
    conn.execute(update(checkpoints).where(checkpoints.c.run_id == ckpt["run_id"]).values(is_best=False))
    conn.execute(update(checkpoints).where(checkpoints.c.id == checkpoint_id).values(is_best=True))
    add_event(
        conn,
        run_id=ckpt["run_id"],
        kind="checkpoint_best",
        message=f"checkpoint {checkpoint_id} is the best ({reason})",
        data={"checkpoint_id": checkpoint_id},
    )
    return get(conn, checkpoint_id=checkpoint_id)


def register(
    conn: Connection,
    *,
    run_id: str,
    checkpoint_id: str,
    path: str,
    size: int | None,
    step: int | None,
    metrics: dict[str, Any],
    metadata: dict[str, Any],
    valid: bool,
    invalid_reason: str | None,
    best_metric: str | None = None,
    best_mode: str = "min",
    created_at: float | None = None,
) -> tuple[dict[str, Any], bool]:
    """Store a checkpoint record; returns (record, created). With ``best_metric``, a valid checkpoint
    whose metric beats the current best's (``best_mode`` min or max) becomes the run's best."""
    existing = get(conn, checkpoint_id=checkpoint_id)
    if existing is not None:
        return existing, False
    conn.execute(
        insert(checkpoints).values(
            id=checkpoint_id,
            run_id=run_id,
            path=path,
            size=size,
            step=step,
            metrics=json.dumps(metrics),
            metadata=json.dumps(metadata),
            is_best=False,
            valid=valid,
            invalid_reason=invalid_reason,
            created_at=time.time() if created_at is None else created_at,
        )
    )
    if valid:
        add_event(
            conn,
            run_id=run_id,
            kind="checkpoint_saved",
            message=f"checkpoint saved at step {step}: {path}",
            data={"checkpoint_id": checkpoint_id, "metrics": metrics},
        )
    else:
        add_event(
            conn,
            run_id=run_id,
            kind="checkpoint_invalid",
            message=f"checkpoint {path} is invalid: {invalid_reason}",
            data={"checkpoint_id": checkpoint_id, "reason": invalid_reason},
        )
    value = metrics.get(best_metric) if best_metric else None
    if valid and isinstance(value, int | float) and value == value:
        current = [c for c in list_for_run(conn, run_id=run_id) if c["is_best"]]
        best_value = current[0]["metrics"].get(best_metric) if current else None
        better = not isinstance(best_value, int | float) or (
            value < best_value if best_mode == "min" else value > best_value
        )
        if better:
            mark_best(conn, checkpoint_id=checkpoint_id, reason=f"{best_metric} {best_mode} = {value:g}")
    record = get(conn, checkpoint_id=checkpoint_id)
    assert record is not None
    return record, True


def remove(conn: Connection, *, checkpoint_id: str) -> dict[str, Any] | None:
    ckpt = get(conn, checkpoint_id=checkpoint_id)
    if ckpt is None:
        return None
    conn.execute(delete(checkpoints).where(checkpoints.c.id == checkpoint_id))
    add_event(
        conn,
        run_id=ckpt["run_id"],
        kind="checkpoint_deleted",
        message=f"checkpoint {checkpoint_id} deleted",
        data={"checkpoint_id": checkpoint_id, "path": ckpt["path"]},
    )
    return ckpt
