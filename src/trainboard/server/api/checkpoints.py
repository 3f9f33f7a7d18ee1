"""Checkpoints: register, list (sortable), get, delete (the file only inside a checkpoint root),
load (what a trainer needs to resume), download (only inside a checkpoint root)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field
from sqlalchemy import Connection

from trainboard.server.api.errors import not_found
from trainboard.server.api.schemas import JSON_DOC_RULES, ErrorMessage, InModel, iso
from trainboard.server.auth.audit import client_ip, record
from trainboard.server.auth.identity import Caller
from trainboard.server.ingest import checkpoints as ingest_checkpoints
from trainboard.server.state import AppState, State
from trainboard.server.store import checkpoints as store
from trainboard.server.store import runs as runs_store
from trainboard.wire import ID_PATTERN, MAX_JSON_INT, MAX_STEP

router = APIRouter(tags=["checkpoints"])

#: The reason stored for a checkpoint registered as invalid without one.
NO_REASON = "no reason given"


class CheckpointIn(InModel):
    id: str | None = Field(None, pattern=ID_PATTERN, description="Client-made id; re-registering is a no-op")
    path: str = Field(min_length=1, max_length=4096)
    step: int | None = Field(None, ge=0, le=MAX_STEP)
    size: int | None = Field(None, ge=0, le=MAX_JSON_INT, description="Bytes")
    metrics: dict[str, Any] = Field(default_factory=dict, description=JSON_DOC_RULES)
    metadata: dict[str, Any] = Field(default_factory=dict, description=JSON_DOC_RULES)
    valid: bool = Field(
        True,
        description="False when validation failed; then `invalid_reason` says why (stored as "
        f"{NO_REASON!r} when not given)",
    )
    invalid_reason: str | None = Field(None, max_length=4000)
    best_metric: str | None = Field(None, max_length=256, description="Track the best checkpoint by this metric")
    best_mode: Literal["min", "max"] = "min"


class CheckpointOut(BaseModel):
    id: str
    run_id: str
    path: str
    size: int | None
    step: int | None
    metrics: dict[str, Any]
    metadata: dict[str, Any]
    is_best: bool
    valid: bool
    invalid_reason: str | None
    created_at: str | None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> CheckpointOut:
        return cls(**{**row, "created_at": iso(row["created_at"])})


class CheckpointList(BaseModel):
    checkpoints: list[CheckpointOut]


class CheckpointLoad(BaseModel):
    """What a trainer needs to resume from a checkpoint."""

    id: str
    run_id: str
    path: str
    step: int | None
    metrics: dict[str, Any]
    metadata: dict[str, Any]
    valid: bool
    invalid_reason: str | None
    exists: bool | None = Field(
        description="Whether the file at `path` exists, when it lies inside a checkpoint root (`trainboard serve "
        "--checkpoint-root DIR`, or the data directory's checkpoints/); null for a path outside them: the server "
        "says nothing about other files on its machine"
    )


def _roots(state: AppState) -> list[Path]:
    return [r.resolve() for r in (*state.settings.checkpoint_roots, state.settings.data_dir / "checkpoints")]


def inside_roots(state: AppState, path: str) -> Path | None:
    """The resolved path when it lies inside a checkpoint root (symlinks followed), else None."""
    try:
        real = Path(os.path.realpath(path))
    except (OSError, ValueError):
        return None
    for root in _roots(state):
        if real.is_relative_to(os.path.realpath(root)):
            return real
    return None


def _checkpoint_or_404(state: AppState, checkpoint_id: str) -> dict[str, Any]:
    with state.engines.reader.connect() as conn:
        row = store.get(conn, checkpoint_id=checkpoint_id)
    if row is None:
        not_found("checkpoint", checkpoint_id)
    return row


def _sort_key(sort: str) -> Any:
    if sort == "step":
        return lambda c: (c["step"] is None, c["step"] or 0)
    if sort == "created_at":
        return lambda c: c["created_at"]
    key = sort.removeprefix("metric:")

    def by_metric(c: dict[str, Any]) -> tuple[bool, float]:
        v = c["metrics"].get(key)
        return (not isinstance(v, int | float), float(v) if isinstance(v, int | float) else 0.0)

    return by_metric


@router.get("/api/runs/{run_id}/checkpoints", response_model=CheckpointList)
def list_checkpoints(
    run_id: str,
    state: State,
    sort: Annotated[
        str, Query(pattern=r"^(step|created_at|metric:.{1,256})$", description="step, created_at or metric:<key>")
    ] = "created_at",
    order: Literal["asc", "desc"] = "desc",
) -> CheckpointList:
    with state.engines.reader.connect() as conn:
        if runs_store.get_run(conn, run_id=run_id) is None:
            not_found("run", run_id)
        rows = store.list_for_run(conn, run_id=run_id)
    key = _sort_key(sort)
    if order == "desc" and sort.startswith("metric:"):
        present = sorted((r for r in rows if not key(r)[0]), key=key, reverse=True)
        rows = present + [r for r in rows if key(r)[0]]  # checkpoints without the metric last either way
    else:
        rows.sort(key=key, reverse=order == "desc")
    return CheckpointList(checkpoints=[CheckpointOut.from_row(r) for r in rows])


@router.post(
    "/api/runs/{run_id}/checkpoints",
    response_model=CheckpointOut,
    status_code=201,
    responses={409: {"model": ErrorMessage, "description": "A checkpoint with this `id` belongs to another run"}},
)
async def register_checkpoint(run_id: str, body: CheckpointIn, state: State) -> CheckpointOut:
    """Register a checkpoint (the SDK validates the file first and sends ``valid``/``invalid_reason``)."""
    import secrets

    cid = body.id or secrets.token_hex(8)
    reason = body.invalid_reason or (None if body.valid else NO_REASON)

    def job(conn: Connection) -> tuple[dict[str, Any], bool] | None:
        if runs_store.get_run(conn, run_id=run_id) is None:
            return None
        return store.register(
            conn,
            run_id=run_id,
            checkpoint_id=cid,
            path=body.path,
            size=body.size,
            step=body.step,
            metrics=body.metrics,
            metadata=body.metadata,
            valid=body.valid,
            invalid_reason=reason,
            best_metric=body.best_metric,
            best_mode=body.best_mode,
        )

    result = await ingest_checkpoints.register(state, job, run_id=run_id)
    if result is None:
        not_found("run", run_id)
    record, _created = result
    if record["run_id"] != run_id:
        raise HTTPException(409, detail=f"checkpoint {cid!r} belongs to another run")
    return CheckpointOut.from_row(record)


@router.get("/api/checkpoints/{checkpoint_id}", response_model=CheckpointOut)
def get_checkpoint(checkpoint_id: str, state: State) -> CheckpointOut:
    row = _checkpoint_or_404(state, checkpoint_id)
    return CheckpointOut.from_row(row)


@router.post("/api/checkpoints/{checkpoint_id}/best", response_model=CheckpointOut)
async def mark_best(checkpoint_id: str, state: State) -> CheckpointOut:
    """Make this the run's best checkpoint (the previous best loses its mark)."""
    row = await ingest_checkpoints.mark_best(state, checkpoint_id=checkpoint_id)
    if row is None:
        not_found("checkpoint", checkpoint_id)
    return CheckpointOut.from_row(row)


@router.post("/api/checkpoints/{checkpoint_id}/load", response_model=CheckpointLoad)
def load_checkpoint(checkpoint_id: str, state: State) -> CheckpointLoad:
    """The path, step, metrics, metadata and validity a trainer needs to resume from this checkpoint."""
    row = _checkpoint_or_404(state, checkpoint_id)
    target = inside_roots(state, row["path"])
    return CheckpointLoad(
        id=row["id"],
        run_id=row["run_id"],
        path=row["path"],
        step=row["step"],
        metrics=row["metrics"],
        metadata=row["metadata"],
        valid=row["valid"],
        invalid_reason=row["invalid_reason"],
        exists=None if target is None else target.is_file(),
    )


@router.delete(
    "/api/checkpoints/{checkpoint_id}",
    responses={403: {"model": ErrorMessage, "description": "`delete_file` for a file outside the checkpoint roots"}},
)
async def delete_checkpoint(
    checkpoint_id: str,
    request: Request,
    state: State,
    caller: Caller,
    delete_file: Annotated[bool, Query(description="Also delete the file (only inside a checkpoint root)")] = False,
) -> dict[str, Any]:
    """Delete the record; with ``delete_file=true`` also the file, when it lies inside a checkpoint root."""
    row = _checkpoint_or_404(state, checkpoint_id)
    target = inside_roots(state, row["path"]) if delete_file else None
    if delete_file and target is None:
        raise HTTPException(
            403,
            detail=f"refusing to delete {row['path']!r}: it is not inside a checkpoint root "
            "(trainboard serve --checkpoint-root DIR)",
        )
    ip = client_ip(request)

    def job(c: Connection) -> None:
        store.remove(c, checkpoint_id=checkpoint_id)
        detail = row["path"] + (" (file too)" if delete_file else "")
        record(c, caller, ip, "checkpoint_delete", checkpoint_id, detail, run_id=row["run_id"])

    await ingest_checkpoints.delete(state, job)
    file_deleted = False
    if target is not None and target.is_file():
        target.unlink()
        file_deleted = True
    return {"deleted": checkpoint_id, "file_deleted": file_deleted}


@router.get(
    "/api/checkpoints/{checkpoint_id}/download",
    response_class=FileResponse,
    responses={
        200: {"content": {"application/octet-stream": {}}, "description": "The file, as an attachment"},
        403: {"model": ErrorMessage, "description": "The file is not inside a checkpoint root"},
        404: {"model": ErrorMessage, "description": "No such checkpoint, or its file is gone"},
    },
)
def download_checkpoint(checkpoint_id: str, state: State) -> FileResponse:
    """The checkpoint file, only when it lies inside a checkpoint root (no ``..``, no symlink escape)."""
    row = _checkpoint_or_404(state, checkpoint_id)
    target = inside_roots(state, row["path"])
    if target is None:
        raise HTTPException(403, detail="the checkpoint file is not inside a checkpoint root")
    if not target.is_file():
        raise HTTPException(404, detail=f"checkpoint file {row['path']!r} does not exist")
    return FileResponse(target, filename=target.name, media_type="application/octet-stream")
