"""Make user values safe to send: JSON-able, and text that UTF-8 can encode.

Python strings may hold lone surrogates (``surrogateescape`` makes them from non-UTF-8 file names and
environment bytes). They cannot be encoded as UTF-8, so the server refuses them; the SDK replaces each
with U+FFFD (the replacement character) before anything is queued, so such a value never costs the run
its upload.
"""

from __future__ import annotations

import json
import math
from typing import Any

REPLACEMENT = "\ufffd"


def safe_str(text: str) -> str:
    """``text`` with every lone surrogate replaced by U+FFFD (a valid pair becomes its character)."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def jsonable(value: dict[str, Any]) -> dict[str, Any]:
    """A JSON-safe copy: numbers stay numbers, non-finite floats become their tokens (``"NaN"``,
    ``"Infinity"``, ``"-Infinity"``), text is made UTF-8-safe, anything else becomes ``str()``."""

    def fix(v: Any) -> Any:
        if isinstance(v, bool) or v is None or isinstance(v, int):
            return v
        if isinstance(v, str):
            return safe_str(v)
        if isinstance(v, float):
            return v if math.isfinite(v) else ("NaN" if v != v else ("Infinity" if v > 0 else "-Infinity"))
        if isinstance(v, dict):
            return {safe_str(str(k)): fix(x) for k, x in v.items()}
        if isinstance(v, list | tuple):
            return [fix(x) for x in v]
        if hasattr(v, "__float__"):
            try:
                return fix(float(v))
            except (TypeError, ValueError):
                pass
        return safe_str(str(v))

    out = fix(value)
    json.dumps(out)
    return out  # type: ignore[no-any-return]
