"""Client JSON documents (run config, checkpoint metadata and metrics): checked for storing, or repaired."""

from __future__ import annotations

import json
import math
from typing import Any, Final

from trainboard.wire.checks import check_text, safe_text
from trainboard.wire.floats import encode_float
from trainboard.wire.limits import MAX_JSON_BYTES, MAX_JSON_DEPTH

#: What :func:`repair_json` puts in place of a sub-document nested too deep.
TOO_DEEP_MARKER: Final = f"<removed: nested deeper than {MAX_JSON_DEPTH} levels>"


def clean_json(value: object, *, max_depth: int = MAX_JSON_DEPTH, max_bytes: int = MAX_JSON_BYTES) -> object:
    """Check a client's JSON document (config, metadata, checkpoint metrics) and return it ready to store.

    Non-finite floats become their token strings (``"NaN"``, ``"Infinity"``, ``"-Infinity"``), as metric values
    travel, so they come back as sent instead of as ``null``. Raises ``ValueError`` naming the path of the first
    problem: text that is not valid Unicode, nesting deeper than ``max_depth``, more than ``max_bytes`` as JSON,
    or a value that is not JSON. Iterative, so a deep document cannot exhaust the stack."""
    cleaned = _walk(value, max_depth=max_depth, repair=False)
    size = len(json.dumps(cleaned, ensure_ascii=False).encode())
    if size > max_bytes:
        raise ValueError(f"is {size} bytes as JSON; the limit is {max_bytes} bytes")
    return cleaned


def repair_json(value: object, *, max_depth: int = MAX_JSON_DEPTH) -> object:
    """``value`` made servable whatever it holds: lone surrogates become U+FFFD, non-finite floats their
    tokens, sub-documents nested deeper than ``max_depth`` the :data:`TOO_DEEP_MARKER` string, other keys and
    values their ``str``. For data stored before the rules existed, and for the SDK before it sends."""
    return _walk(value, max_depth=max_depth, repair=True)


def _walk(value: object, *, max_depth: int, repair: bool) -> object:
    root: list[object] = [value]
    todo: list[tuple[Any, Any, str, int]] = [(root, 0, "", 0)]  # (container, slot, path, depth)
    while todo:
        holder, slot, path, depth = todo.pop()
        item = holder[slot]
        where = path or "value"
        if isinstance(item, str):
            if (why := check_text(item)) is not None:
                if not repair:
                    raise ValueError(f"{where} {why}")
                holder[slot] = safe_text(item)
        elif isinstance(item, float):
            if not math.isfinite(item):
                holder[slot] = encode_float(item)
        elif item is None or isinstance(item, bool | int):
            pass
        elif isinstance(item, dict | list | tuple):
            if depth >= max_depth:
                if not repair:
                    raise ValueError(f"{where} is nested deeper than {max_depth} levels")
                holder[slot] = TOO_DEEP_MARKER
                continue
            if isinstance(item, dict):
                copy: dict[str, object] = {}
                for key, sub in item.items():
                    if not isinstance(key, str):
                        if not repair:
                            raise ValueError(f"{where} has a key that is not a string")
                        key = str(key)
                    if (why := check_text(key)) is not None:
                        if not repair:
                            raise ValueError(f"a key of {where} {why}")
                        key = safe_text(key)
                    copy[key] = sub
                holder[slot] = copy
                todo.extend((copy, k, f"{path}.{k}" if path else k, depth + 1) for k in copy)
            else:
                items = list(item)
                holder[slot] = items
                todo.extend((items, n, f"{path}[{n}]", depth + 1) for n in range(len(items)))
        elif repair:
            holder[slot] = safe_text(str(item))
        else:
            raise ValueError(f"{where} is not a JSON value ({type(item).__name__})")
    return root[0]
