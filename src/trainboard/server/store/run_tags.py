"""Run tags: short labels (``baseline``, ``seed-sweep``), many per run, kept sorted and unique."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, delete, insert, select

from trainboard.server.store.tables import run_tags

#: Most tags one run may carry.
MAX_TAGS = 100


def tags_of(conn: Connection, *, run_id: str) -> list[str]:
    rows = conn.execute(select(run_tags.c.tag).where(run_tags.c.run_id == run_id).order_by(run_tags.c.tag))
    return [r[0] for r in rows]


def tags_of_runs(conn: Connection, *, run_ids: list[str]) -> dict[str, list[str]]:
    """Tags of many runs at once (a page of a list): run id -> sorted tags."""
    out: dict[str, list[str]] = {}
    for start in range(0, len(run_ids), 500):
        part = run_ids[start : start + 500]
        rows = conn.execute(
            select(run_tags.c.run_id, run_tags.c.tag).where(run_tags.c.run_id.in_(part)).order_by(run_tags.c.tag)
        )
        for run_id, tag in rows:
            out.setdefault(run_id, []).append(tag)
    return out


def change_tags(conn: Connection, *, run_id: str, add: Iterable[str] = (), remove: Iterable[str] = ()) -> list[str]:
    """Add and remove tags (adding one present or removing one absent is a no-op); returns the run's tags.
    Raises ``ValueError`` when the run would carry more than :data:`MAX_TAGS`."""
    current = set(tags_of(conn, run_id=run_id))
    gone = set(remove) & current
    new = set(add) - current - set(remove)
    if len(current) - len(gone) + len(new) > MAX_TAGS:
        raise ValueError(f"a run carries at most {MAX_TAGS} tags")
    if gone:
        conn.execute(delete(run_tags).where(run_tags.c.run_id == run_id, run_tags.c.tag.in_(gone)))
    if new:
        conn.execute(insert(run_tags), [{"run_id": run_id, "tag": t} for t in sorted(new)])
    return sorted((current - gone) | new)


def set_tags(conn: Connection, *, run_id: str, tags: Iterable[str]) -> list[str]:
    """Replace the run's tags."""
    wanted = set(tags)
    current = set(tags_of(conn, run_id=run_id))
    return change_tags(conn, run_id=run_id, add=wanted - current, remove=current - wanted)


def delete_run(conn: Connection, *, run_id: str) -> int:
    return conn.execute(delete(run_tags).where(run_tags.c.run_id == run_id)).rowcount
