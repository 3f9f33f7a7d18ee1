"""Non-finite floats on the wire.

They travel as the strings ``"NaN"``, ``"Infinity"`` and ``"-Infinity"`` (the protobuf JSON mapping), in both
directions, so that a diverging loss is visible and distinguishable from a missing value (a missing value is
simply an absent key or point).
"""

from __future__ import annotations

import math
from typing import Final

NAN_TOKEN: Final = "NaN"
POS_INF_TOKEN: Final = "Infinity"
NEG_INF_TOKEN: Final = "-Infinity"

_TOKEN_VALUES: Final[dict[str, float]] = {
    NAN_TOKEN: math.nan,
    POS_INF_TOKEN: math.inf,
    NEG_INF_TOKEN: -math.inf,
}


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
