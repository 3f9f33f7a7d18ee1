"""Rich values (histograms, images, text, tables): one per (run, key, step), and image bytes by content.

A value logged again at the same (run, key, step) replaces the stored one, so a client re-sending an upload
(a retry, ``trainboard sync``) stores it once. Image bytes are files named by their SHA-256 under
``<data>/rich/<2 hex>/<64 hex>``, written (atomically) before the row that names them: the name comes from the
bytes, never from the client, so no client text ever reaches a path. A file may outlive the rows naming it (a
deleted run); it is never served without a row of the run asking for it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, and_, delete, func, insert, select

from trainboard.server.store.rich_tables import rich_values

_DIGEST = re.compile(r"^[0-9a-f]{64}$")


def blob_path(data_dir: Path, digest: str) -> Path:
    """Where the image with SHA-256 ``digest`` lives (``digest`` must be 64 lower-case hex digits)."""
    if not _DIGEST.match(digest):
        raise ValueError("not a SHA-256 digest")
    return data_dir / "rich" / digest[:2] / digest


def write_blob(data_dir: Path, data: bytes) -> str:
    """Store ``data`` by its SHA-256 (once: an existing file is kept) and return the digest. Blocking: call it
    from a worker thread."""
    digest = hashlib.sha256(data).hexdigest()
    path = blob_path(data_dir, digest)
    if path.exists() and path.stat().st_size == len(data):
        return digest
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{digest}.{os.getpid()}.{time.monotonic_ns()}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return digest


def put(conn: Connection, *, run_id: str, values: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Store ``values`` (each: key, step, kind, time, payload (a JSON-able dict), blob, size, caption, truncated),
    replacing what the run had at the same (key, step). Returns the rows written (without their payload)."""
    now = time.time()
    written: dict[tuple[str, int], dict[str, Any]] = {}
    for v in values:  # the last of one (key, step) in a request wins
        written[(v["key"], v["step"])] = v
    for (key, step), v in written.items():
        conn.execute(
            delete(rich_values).where(
                and_(rich_values.c.run_id == run_id, rich_values.c.key == key, rich_values.c.step == step)
            )
        )
        conn.execute(
            insert(rich_values).values(
                run_id=run_id,
                key=key,
                step=step,
                kind=v["kind"],
                time=v.get("time"),
                payload=json.dumps(v["payload"], separators=(",", ":"), allow_nan=False),
                blob=v.get("blob"),
                size=int(v.get("size") or 0),
                caption=v.get("caption"),
                truncated=v.get("truncated"),
                stored_at=now,
            )
        )
    return [
        {"key": k, "step": s, "kind": v["kind"], "truncated": v.get("truncated"), "blob": v.get("blob")}
        for (k, s), v in written.items()
    ]


def list_keys(conn: Connection, *, run_id: str) -> list[dict[str, Any]]:
    """Every key of the run with its kind and steps (ascending), keys sorted."""
    rows = conn.execute(
        select(rich_values.c.key, rich_values.c.kind, rich_values.c.step)
        .where(rich_values.c.run_id == run_id)
        .order_by(rich_values.c.key, rich_values.c.step)
    )
    out: dict[str, dict[str, Any]] = {}
    for key, kind, step in rows:
        entry = out.setdefault(key, {"key": key, "kind": kind, "steps": []})
        entry["steps"].append(int(step))
        if entry["kind"] != kind:
            entry["kind"] = "mixed"
    return list(out.values())


def _public(row: Any) -> dict[str, Any]:
    out = dict(row)
    out["payload"] = json.loads(out["payload"])
    out["step"] = int(out["step"])
    return out


def get(conn: Connection, *, run_id: str, key: str, step: int | None) -> dict[str, Any] | None:
    """The value of ``key`` at ``step`` (None: the latest step)."""
    where = and_(rich_values.c.run_id == run_id, rich_values.c.key == key)
    query = select(rich_values).where(where)
    if step is None:
        query = query.order_by(rich_values.c.step.desc()).limit(1)
    else:
        query = query.where(rich_values.c.step == step)
    row = conn.execute(query).mappings().first()
    return _public(row) if row is not None else None


def series(conn: Connection, *, run_id: str, key: str, limit: int) -> tuple[list[dict[str, Any]], int]:
    """Up to ``limit`` values of ``key`` spread evenly over its steps (first and last included), and how many
    steps it has in all."""
    where = and_(rich_values.c.run_id == run_id, rich_values.c.key == key)
    steps = [int(s) for (s,) in conn.execute(select(rich_values.c.step).where(where).order_by(rich_values.c.step))]
    total = len(steps)
    if total > limit:
        picks = sorted(
            {steps[round(i * (total - 1) / (limit - 1))] for i in range(limit)} if limit > 1 else {steps[-1]}
        )
    else:
        picks = steps
    rows: list[dict[str, Any]] = []
    for start in range(0, len(picks), 500):
        chunk = picks[start : start + 500]
        found = conn.execute(select(rich_values).where(where, rich_values.c.step.in_(chunk))).mappings()
        rows.extend(_public(r) for r in found)
    rows.sort(key=lambda r: r["step"])
    return rows, total


def has_blob(conn: Connection, *, run_id: str, digest: str) -> dict[str, Any] | None:
    """An image row of the run naming ``digest`` (its payload), or None: a run's readers reach its images only."""
    row = conn.execute(
        select(rich_values.c.payload)
        .where(rich_values.c.run_id == run_id, rich_values.c.blob == digest, rich_values.c.kind == "image")
        .limit(1)
    ).first()
    return json.loads(row[0]) if row is not None else None


def count(conn: Connection, *, run_id: str) -> int:
    return int(
        conn.execute(select(func.count()).select_from(rich_values).where(rich_values.c.run_id == run_id)).scalar_one()
    )


def delete_run(conn: Connection, *, run_id: str) -> int:
    """Remove the run's values (image files stay: others may share them; see the module docstring)."""
    return int(conn.execute(delete(rich_values).where(rich_values.c.run_id == run_id)).rowcount)
