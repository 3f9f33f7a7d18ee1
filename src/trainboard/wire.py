"""Wire encoding shared by the SDK and the server (stdlib only).

Non-finite floats travel as the strings ``"NaN"``, ``"Infinity"`` and ``"-Infinity"`` (the protobuf JSON
mapping), in both directions, so that a diverging loss is visible and distinguishable from a missing
value (a missing value is simply an absent key or point).
"""

from __future__ import annotations

import math
import re
from typing import Final

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

#: Metric key rules: 1-256 characters, no control characters.
MAX_KEY_LENGTH: Final = 256
_BAD_KEY_RE: Final = re.compile(r"[\x00-\x1f\x7f]")


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
