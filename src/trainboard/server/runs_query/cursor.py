"""Opaque page cursors: where a page ended in its sort order (the last run's sort value and id), under which
sort, and the clock the first page used (so ``duration`` of running runs reads the same on every page)."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass

from trainboard.server.runs_query.errors import QueryError

_VERSION = 1


@dataclass(frozen=True)
class Cursor:
    sort: str
    now: float
    value: float | str | bool | None
    run_id: str


def encode(cursor: Cursor) -> str:
    doc = [_VERSION, cursor.sort, cursor.now, cursor.value, cursor.run_id]
    return base64.urlsafe_b64encode(json.dumps(doc, separators=(",", ":")).encode()).decode().rstrip("=")


def decode(text: str, *, sort: str) -> Cursor:
    """The cursor ``text``; a :class:`QueryError` for one not made by :func:`encode` or made for another sort."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        doc = json.loads(raw)
    except (binascii.Error, ValueError):
        raise QueryError("not a cursor this server made (pass next_cursor as it was returned)", 0, "cursor") from None
    ok = (
        isinstance(doc, list)
        and len(doc) == 5
        and doc[0] == _VERSION
        and isinstance(doc[1], str)
        and isinstance(doc[2], int | float)
        and (doc[3] is None or isinstance(doc[3], int | float | str | bool))
        and isinstance(doc[4], str)
    )
    if not ok:
        raise QueryError("not a cursor this server made (pass next_cursor as it was returned)", 0, "cursor")
    if doc[1] != sort:
        raise QueryError(
            f"this cursor pages the sort {doc[1]!r}, not {sort!r}: start again without a cursor", 0, "cursor"
        )
    value = doc[3]
    if isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    return Cursor(doc[1], float(doc[2]), value, doc[4])
