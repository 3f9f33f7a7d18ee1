"""Wire encoding shared by the SDK and the server (standard library only).

- :mod:`~trainboard.wire.limits`: the limits both sides apply (steps, ids, sizes, times, keys).
- :mod:`~trainboard.wire.floats`: non-finite floats as the tokens ``"NaN"``, ``"Infinity"``, ``"-Infinity"``.
- :mod:`~trainboard.wire.checks`: checks of metric keys, steps and text.
- :mod:`~trainboard.wire.documents`: client JSON documents (config, metadata), checked or repaired.
- :mod:`~trainboard.wire.metric_batch`: the metric batch codec (the SDK encodes, the server decodes).
"""

from __future__ import annotations

from trainboard.wire.checks import check_key, check_step, check_text, safe_line, safe_text
from trainboard.wire.documents import TOO_DEEP_MARKER, clean_json, repair_json
from trainboard.wire.floats import NAN_TOKEN, NEG_INF_TOKEN, POS_INF_TOKEN, decode_float, encode_float
from trainboard.wire.limits import (
    ID_PATTERN,
    ID_RE,
    MAX_BATCH_KEYS,
    MAX_BODY_BYTES,
    MAX_EXIT_CODE,
    MAX_INT64,
    MAX_JSON_BYTES,
    MAX_JSON_DEPTH,
    MAX_JSON_INT,
    MAX_KEY_LENGTH,
    MAX_RUN_KEYS,
    MAX_STEP,
    MAX_TIME,
    MAX_YEAR,
    MIN_EXIT_CODE,
    MIN_TIME,
    MIN_YEAR,
    TIME_RANGE_DOC,
)

__all__ = [
    "ID_PATTERN",
    "ID_RE",
    "MAX_BATCH_KEYS",
    "MAX_BODY_BYTES",
    "MAX_EXIT_CODE",
    "MAX_INT64",
    "MAX_JSON_BYTES",
    "MAX_JSON_DEPTH",
    "MAX_JSON_INT",
    "MAX_KEY_LENGTH",
    "MAX_RUN_KEYS",
    "MAX_STEP",
    "MAX_TIME",
    "MAX_YEAR",
    "MIN_EXIT_CODE",
    "MIN_TIME",
    "MIN_YEAR",
    "NAN_TOKEN",
    "NEG_INF_TOKEN",
    "POS_INF_TOKEN",
    "TIME_RANGE_DOC",
    "TOO_DEEP_MARKER",
    "check_key",
    "check_step",
    "check_text",
    "clean_json",
    "decode_float",
    "encode_float",
    "repair_json",
    "safe_line",
    "safe_text",
]
