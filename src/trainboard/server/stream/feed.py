"""The dashboard feed: ids for the run-list messages of ``/ws`` and the replay a reconnecting client gets.

The run-list messages (``run_created``, ``status_change``, ``run_updated``, ``run_deleted``) each come from
a row of the ``events`` table, written in the same transaction as the change; the message's ``id`` is that
row's id. Ids therefore increase across the whole installation, survive restarts and are the same in every
``serve --workers N`` process (they share the database), and Redis being down changes nothing: the
database is the source of truth.

A client that reconnects with ``?after=ID`` is sent the messages built from the rows after ``ID`` (in id
order, at most ``REPLAY_LIMIT``; with more, or with an id the database never gave, one ``reset`` and the
client reloads), then live messages newer than the replay. The ``run`` object a replayed message carries is
the run as it is now (a replayed ``run_created`` of a run deleted since is left out: its ``run_deleted``
follows). Per-run messages (``metric_update``, ``checkpoint_saved``, ``event``) carry no id and are not
replayed: a client reloads what it shows of a run after reconnecting.

Every publisher passes the id of the row it wrote (``store.runs`` returns it as the run's ``feed_id``;
``record_update`` and ``record_deleted`` build the message), so no message is stamped after the fact.

Out-of-order commits (PostgreSQL): ids come from a sequence when the row is written, not when its
transaction commits, so row 11 can be visible before row 10. A client that saw 11 and resumes after 11 would
never get 10. The replay therefore also re-sends, on PostgreSQL, the run-list rows below ``after`` written
less than ``SETTLE_SECONDS`` before row ``after`` (by the rows' ``time``; at most ``REPLAY_LIMIT`` ids back):
a row that committed late was written while a later one was already visible, so within that window as
long as its transaction committed within ``SETTLE_SECONDS`` of writing it (trainboard's write transactions
last milliseconds). The client drops the ids it already has (``web/src/api/live.ts``); the server sends a
message at most once per connection. Chosen over an xmin/snapshot watermark because transaction ids are
not given in id order (a transaction may write other rows before its event), so ``pg_snapshot_xmin`` does
not bound the ids still in flight. SQLite commits one write transaction at a time, in id order: no window.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, select

from trainboard.server.store import runs as runs_store
from trainboard.server.store.docs import load_doc
from trainboard.server.store.events import add_event
from trainboard.server.store.tables import events
from trainboard.server.views import public_run

#: Messages a reconnecting client may have missed at most before it is told to ``reset`` (reload).
REPLAY_LIMIT = 1000
#: PostgreSQL: a resume also re-sends the run-list rows written this long before the client's last one.
SETTLE_SECONDS = 10.0
#: The ``events.kind`` of each run-list message.
KINDS = ("run_created", "status_change", "run_updated", "run_deleted")
#: Run fields a ``run_updated`` reports.
UPDATED_FIELDS = ("name", "tags", "notes", "archived")


def last_id(conn: Connection) -> int:
    """The newest event id (0 on an empty database)."""
    return int(conn.execute(select(func.max(events.c.id))).scalar_one() or 0)


def run_updated_message(event_id: int, run: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    return {"type": "run_updated", "id": event_id, "run_id": run["id"], "changes": changes, "run": public_run(run)}


def replay(conn: Connection, *, after: int) -> list[dict[str, Any]] | None:
    """The run-list messages after event ``after``, oldest first; ``None`` when the client must reset (more
    than ``REPLAY_LIMIT`` missed, or ``after`` is newer than anything stored). On PostgreSQL, first those
    of the settle window below ``after`` (see the module's docstring): the client drops the ids it has."""
    if after > last_id(conn):
        return None
    columns = (events.c.id, events.c.run_id, events.c.kind, events.c.data)
    rows = list(
        conn.execute(
            select(*columns)
            .where(events.c.id > after, events.c.kind.in_(KINDS))
            .order_by(events.c.id)
            .limit(REPLAY_LIMIT + 1)
        ).mappings()
    )
    if len(rows) > REPLAY_LIMIT:
        return None
    if conn.dialect.name == "postgresql" and after > 0:
        rows = _settle_window(conn, after) + rows
    runs: dict[str, dict[str, Any] | None] = {}
    out: list[dict[str, Any]] = []
    for row in rows:
        run_id, kind, event_id = row["run_id"], row["kind"], int(row["id"])
        if kind == "run_deleted":
            out.append({"type": "run_deleted", "id": event_id, "run_id": run_id})
            continue
        if run_id not in runs:
            runs[run_id] = runs_store.get_run(conn, run_id=run_id)
        run = runs[run_id]
        if run is None:
            continue  # deleted since (its events went with it; a run_deleted row follows)
        data = load_doc(row["data"]) or {}
        if kind == "run_created":
            out.append({"type": "run_created", "id": event_id, "run": public_run(run)})
        elif kind == "status_change":
            out.append(
                {
                    "type": "status_change",
                    "id": event_id,
                    "run_id": run_id,
                    "old_status": data.get("old_status"),
                    "new_status": data.get("new_status"),
                    "exit_code": data.get("exit_code"),
                    "run": public_run(run),
                }
            )
        else:
            out.append(run_updated_message(event_id, run, dict(data.get("changes") or {})))
    return out


def _settle_window(conn: Connection, after: int) -> list[Any]:
    """The run-list rows below ``after`` written at most ``SETTLE_SECONDS`` before the newest row up to
    ``after`` (at most ``REPLAY_LIMIT`` ids back), oldest first."""
    reference = conn.execute(
        select(events.c.time).where(events.c.id <= after).order_by(events.c.id.desc()).limit(1)
    ).scalar_one_or_none()
    if reference is None:
        return []
    return list(
        conn.execute(
            select(events.c.id, events.c.run_id, events.c.kind, events.c.data)
            .where(
                events.c.id < after,
                events.c.id > after - REPLAY_LIMIT,
                events.c.time >= float(reference) - SETTLE_SECONDS,
                events.c.kind.in_(KINDS),
            )
            .order_by(events.c.id)
        ).mappings()
    )


def record_update(conn: Connection, *, old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any] | None:
    """In the change's transaction: store the ``run_updated`` event of the fields that changed between
    ``old`` and ``new`` and return its message (``None`` when none of ``UPDATED_FIELDS`` changed)."""
    changes = {k: _field(new, k) for k in UPDATED_FIELDS if _field(old, k) != _field(new, k)}
    if not changes:
        return None
    stored = add_event(
        conn, run_id=new["id"], kind="run_updated", message="changed: " + ", ".join(changes), data={"changes": changes}
    )
    return run_updated_message(int(stored["id"]), new, changes)


def record_deleted(conn: Connection, *, run_id: str) -> dict[str, Any]:
    """In the deletion's transaction, after the run's events are gone: the ``run_deleted`` event (the one
    row left of the run) and its message."""
    stored = add_event(conn, run_id=run_id, kind="run_deleted", message="run deleted")
    return {"type": "run_deleted", "id": int(stored["id"]), "run_id": run_id}


def _field(run: dict[str, Any], key: str) -> Any:
    value = run.get(key)
    if key == "tags":
        return list(value or ())
    if key == "notes":
        return value or ""
    if key == "archived":
        return bool(value)
    return value
