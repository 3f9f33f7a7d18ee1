"""Saved runs-table views per project (name -> filter, sort, columns) and per-user page layouts."""

from __future__ import annotations

import json
import time
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from trainboard.server.store.tables import layouts, saved_views


def _view(row: Any) -> dict[str, Any]:
    out = dict(row)
    try:
        out["columns"] = json.loads(out["columns"])
    except ValueError:
        out["columns"] = []
    return out


def list_views(conn: Connection, *, project: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(saved_views).where(saved_views.c.project == project).order_by(saved_views.c.name)
    ).mappings()
    return [_view(r) for r in rows]


def get_view(conn: Connection, *, project: str, name: str) -> dict[str, Any] | None:
    row = (
        conn.execute(select(saved_views).where(saved_views.c.project == project, saved_views.c.name == name))
        .mappings()
        .first()
    )
    return _view(row) if row else None


def put_view(
    conn: Connection, *, project: str, name: str, filter: str, sort: str, columns: list[Any], user: str | None
) -> tuple[dict[str, Any], bool]:
    """Create or replace the view; returns (view, created)."""
    now = time.time()
    values = {"filter": filter, "sort": sort, "columns": json.dumps(columns), "updated_at": now}
    existing = get_view(conn, project=project, name=name)
    if existing is None:
        conn.execute(insert(saved_views).values(project=project, name=name, created_by=user, created_at=now, **values))
    else:
        conn.execute(
            update(saved_views).where(saved_views.c.project == project, saved_views.c.name == name).values(**values)
        )
    view = get_view(conn, project=project, name=name)
    assert view is not None
    return view, existing is None


def delete_view(conn: Connection, *, project: str, name: str) -> bool:
    result = conn.execute(delete(saved_views).where(saved_views.c.project == project, saved_views.c.name == name))
    return bool(result.rowcount)


def get_layout(conn: Connection, *, project: str, owner: str) -> dict[str, Any] | None:
    row = conn.execute(
        select(layouts.c.layout, layouts.c.updated_at).where(layouts.c.project == project, layouts.c.owner == owner)
    ).first()
    if row is None:
        return None
    try:
        layout = json.loads(row[0])
    except ValueError:
        layout = {}
    return {"layout": layout, "updated_at": row[1]}


def put_layout(conn: Connection, *, project: str, owner: str, layout: dict[str, Any]) -> dict[str, Any]:
    now = time.time()
    text = json.dumps(layout)
    found = conn.execute(
        update(layouts)
        .where(layouts.c.project == project, layouts.c.owner == owner)
        .values(layout=text, updated_at=now)
    )
    if not found.rowcount:
        conn.execute(insert(layouts).values(project=project, owner=owner, layout=text, updated_at=now))
    return {"layout": layout, "updated_at": now}


def delete_layout(conn: Connection, *, project: str, owner: str) -> bool:
    result = conn.execute(delete(layouts).where(layouts.c.project == project, layouts.c.owner == owner))
    return bool(result.rowcount)
