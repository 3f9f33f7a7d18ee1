"""Checks of single values both sides share: metric keys, steps and text."""

from __future__ import annotations

import re
from typing import Final

from trainboard.wire.limits import MAX_KEY_LENGTH, MAX_STEP

_BAD_KEY_RE: Final = re.compile(r"[\x00-\x1f\x7f]")


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


def safe_line(text: str) -> str:
    """``text`` as a log line the server stores on every engine: lone surrogates and NUL (which PostgreSQL's
    text cannot hold; the server refuses it with 422) replaced by U+FFFD."""
    return safe_text(text).replace("\x00", "\ufffd")
