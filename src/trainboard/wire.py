"""Wire encoding shared by the SDK and the server (stdlib only).

Non-finite floats travel as the strings ``"NaN"``, ``"Infinity"`` and ``"-Infinity"`` (the protobuf JSON
mapping), in both directions, so that a diverging loss is visible and distinguishable from a missing
value (a missing value is simply an absent key or point).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, Final

NAN_TOKEN: Final = "NaN"
POS_INF_TOKEN: Final = "Infinity"
NEG_INF_TOKEN: Final = "-Infinity"

_TOKEN_VALUES: Final[dict[str, float]] = {
    NAN_TOKEN: math.nan,
    POS_INF_TOKEN: math.inf,
    NEG_INF_TOKEN: -math.inf,
}

#: Steps are integers in [0, 2**53 - 1]: the largest integer a browser's JavaScript represents exactly.
MAX_STEP: Final = 2**53 - 1

#: Run ids, checkpoint ids and stream ids: made by clients, used in URLs and file names.
ID_PATTERN: Final = r"^[A-Za-z0-9_-]{1,64}$"
ID_RE: Final = re.compile(ID_PATTERN)

#: Largest request body the server accepts (bytes); larger gets HTTP 413.
MAX_BODY_BYTES: Final = 32 * 1024 * 1024

#: Metric key rules: 1-256 characters, no control characters, valid Unicode (no lone surrogates).
MAX_KEY_LENGTH: Final = 256
_BAD_KEY_RE: Final = re.compile(r"[\x00-\x1f\x7f]")

#: Integers the server stores (offsets, sequence numbers, sizes, ids) fit a signed 64-bit column ...
MAX_INT64: Final = 2**63 - 1
#: ... and the API accepts them up to 2**53 - 1, the largest integer a JSON parser that reads numbers as doubles
#: (a browser, a JSON Schema validator) keeps exact: 8 PiB of log offset, 9e15 sequence numbers.
MAX_JSON_INT: Final = 2**53 - 1
#: Exit codes fit a signed 32-bit column (a Windows NTSTATUS such as 0xC0000005 is given as negative).
MIN_EXIT_CODE: Final = -(2**31)
MAX_EXIT_CODE: Final = 2**31 - 1

#: Times the server accepts, epoch seconds: 1971-01-01T00:00:00Z .. 2200-01-01T00:00:00Z (as an ISO 8601
#: string: a year from 1971 to 2199 as written). Epoch 0 (an unset clock) and far-future dates (a unit mix-up,
#: e.g. milliseconds) are refused rather than stored.
MIN_TIME: Final = 31_536_000.0
MAX_TIME: Final = 7_258_118_400.0
MIN_YEAR: Final = 1971
MAX_YEAR: Final = 2199
TIME_RANGE_DOC: Final = "1971-01-01T00:00:00Z .. 2200-01-01T00:00:00Z"

#: JSON documents clients attach (run config, checkpoint metadata and metrics): nesting depth and size.
MAX_JSON_DEPTH: Final = 32
MAX_JSON_BYTES: Final = 1024 * 1024
#: Distinct metric keys in one batch, and per run.
MAX_BATCH_KEYS: Final = 10_000
MAX_RUN_KEYS: Final = 50_000


def encode_float(value: float) -> float | str:
    """Return ``value`` as it travels in JSON: itself when finite, else its token string."""
    if math.isfinite(value):
        return value
    if math.isnan(value):
        return NAN_TOKEN
    return POS_INF_TOKEN if value > 0 else NEG_INF_TOKEN


def decode_float(value: object) -> float:
    """Parse a wire value into a float. Raises ``ValueError`` naming what is wrong."""
    if type(value) is float:
        return value
    if type(value) is int or type(value) is bool:
        return float(value)
    if isinstance(value, str):
        try:
            return _TOKEN_VALUES[value]
        except KeyError:
            raise ValueError(
                f'must be a number or one of "NaN", "Infinity", "-Infinity", got the string {value[:40]!r}'
            ) from None
    raise ValueError(f"must be a number, got {type(value).__name__}")


def check_key(key: object) -> str | None:
    """Return why ``key`` is not a valid metric key, or ``None`` when it is."""
    if not isinstance(key, str):
        return f"metric keys must be strings, got {type(key).__name__}"
    if not key or len(key) > MAX_KEY_LENGTH:
        return f"metric keys must be 1-{MAX_KEY_LENGTH} characters long"
    if _BAD_KEY_RE.search(key):
        return "metric keys must not contain control characters"
    if check_text(key) is not None:
        return "metric keys must be valid Unicode text (no lone surrogates)"
    return None


def check_step(step: object) -> str | None:
    """Return why ``step`` is not a valid step, or ``None`` when it is."""
    if type(step) is not int:
        return f"step must be an integer, got {type(step).__name__}"
    if step < 0:
        return "step must not be negative"
    if step > MAX_STEP:
        return f"step must be at most {MAX_STEP} (2**53 - 1)"
    return None


def check_text(text: str) -> str | None:
    """Return why ``text`` cannot be stored and served (it does not encode as UTF-8: a lone surrogate,
    e.g. from a ``surrogateescape``-decoded file name), or ``None`` when it can."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"is not valid Unicode text: lone surrogate {text[exc.start]!r} at character {exc.start}"
    return None


def safe_text(text: str) -> str:
    """``text`` with every lone surrogate replaced by U+FFFD (what the SDK sends instead of failing)."""
    if check_text(text) is None:
        return text
    return "".join("\ufffd" if "\ud800" <= ch <= "\udfff" else ch for ch in text)


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
