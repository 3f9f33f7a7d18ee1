"""The run's config flattened into ``run_config`` rows, so filters and sorts on ``config.X`` are plain typed
column comparisons that behave the same on SQLite and PostgreSQL (their JSON functions differ in types and
NULL handling), can use an index, and give the runs table its list of config keys without parsing JSON.

Nested objects become dotted keys (``{"optim": {"lr": 1}}`` -> ``optim.lr``); lists are leaves (kept as JSON
text). A number (or boolean, as 0/1) is also kept in ``num``; every leaf has ``text``: the string itself,
or the JSON of anything else (``true``, ``null``, ``[1, 2]``, ``0.001``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping
from typing import Any

from sqlalchemy import Connection, delete, insert

from trainboard.server.store.tables import run_config

#: Longest flattened key kept (longer leaves are not queryable; they stay in the run's config).
MAX_KEY = 256
#: Most leaves kept per run.
MAX_LEAVES = 2000


def flatten(config: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, float | None, str]]:
    """(dotted key, number or None, text) for every leaf of ``config``."""
    for key, value in config.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            yield from flatten(value, path + ".")
            continue
        if isinstance(value, bool):
            yield path, float(value), json.dumps(value)
        elif isinstance(value, int | float):
            number = float(value)
            yield path, number if math.isfinite(number) else None, json.dumps(value)
        elif isinstance(value, str):
            yield path, None, value
        else:
            yield path, None, json.dumps(value, ensure_ascii=False, default=str)


def replace_config(conn: Connection, *, run_id: str, config: Mapping[str, Any]) -> None:
    """Rewrite the run's flattened config (called in the transaction that stores ``config``)."""
    conn.execute(delete(run_config).where(run_config.c.run_id == run_id))
    rows: dict[str, dict[str, Any]] = {}
    for key, num, text in flatten(config):
        # PostgreSQL text cannot hold NUL (the run's config keeps it; its queryable copy shows U+FFFD)
        key, text = key.replace("\x00", "\ufffd"), text.replace("\x00", "\ufffd")
        if len(key) > MAX_KEY or key in rows:  # ("a.b" and {"a": {"b"}} flatten alike: the first wins)
            continue
        rows[key] = {"run_id": run_id, "key": key, "num": num, "text": text}
        if len(rows) >= MAX_LEAVES:
            break
    if rows:
        conn.execute(insert(run_config), list(rows.values()))


def delete_run(conn: Connection, *, run_id: str) -> int:
    return conn.execute(delete(run_config).where(run_config.c.run_id == run_id)).rowcount
