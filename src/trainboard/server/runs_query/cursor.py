"""Opaque page cursors: where a page ended in its sort order (the last run's sort value and id), which query
it pages (the sort, and a digest of the filter and the list's other parameters), the clock the first page used
(so ``duration`` of running runs reads the same on every page) and the first page's total (not counted again)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass

from trainboard.server.runs_query.errors import QueryError

_VERSION = 1


#: A text sort value longer than this is not put in the cursor: the next page reads it from the run (``LOOKUP``).
MAX_TEXT_VALUE = 200
LOOKUP = {"lookup": True}


@dataclass(frozen=True)
class Cursor:
    sort: str
    now: float
    value: float | str | bool | dict[str, bool] | None  # LOOKUP: read it from the run
    run_id: str
    query: str = ""  # digest of the filter and plain parameters
    total: int = 0


def digest(*parts: object) -> str:
    return hashlib.blake2s(json.dumps(parts, default=str).encode(), digest_size=8).hexdigest()


def encode(cursor: Cursor) -> str:
    value = LOOKUP if isinstance(cursor.value, str) and len(cursor.value) > MAX_TEXT_VALUE else cursor.value
    doc = [_VERSION, cursor.sort, cursor.now, value, cursor.run_id, cursor.query, cursor.total]
    return base64.urlsafe_b64encode(json.dumps(doc, separators=(",", ":")).encode()).decode().rstrip("=")


def decode(text: str, *, sort: str, query: str) -> Cursor:
    """The cursor ``text``; a :class:`QueryError` for one not made by :func:`encode` or made for another sort."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        doc = json.loads(raw)
    except (binascii.Error, ValueError):
        raise QueryError("not a cursor this server made (pass next_cursor as it was returned)", 0, "cursor") from None
    ok = (
        isinstance(doc, list)
        and len(doc) == 7
        and doc[0] == _VERSION
        and isinstance(doc[1], str)
        and isinstance(doc[2], int | float)
        and (doc[3] is None or isinstance(doc[3], int | float | str | bool) or doc[3] == LOOKUP)
        and isinstance(doc[4], str)
        and "\x00" not in doc[4]
        and not (isinstance(doc[3], str) and "\x00" in doc[3])
        and isinstance(doc[5], str)
        and isinstance(doc[6], int)
    )
    if not ok:
        raise QueryError("not a cursor this server made (pass next_cursor as it was returned)", 0, "cursor")
    if doc[1] != sort:
        raise QueryError(
            f"this cursor pages the sort {doc[1]!r}, not {sort!r}: start again without a cursor", 0, "cursor"
        )
    if doc[5] != query:
        raise QueryError("this cursor pages another filter: start again without a cursor", 0, "cursor")
    value = doc[3]
    if isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    return Cursor(doc[1], float(doc[2]), value, doc[4], doc[5], doc[6])
