"""The limits both sides apply: steps, ids, sizes, integers, times, JSON documents and metric keys.

One definition each: the SDK checks against them before it sends, the server before it stores.
"""

from __future__ import annotations

import re
from typing import Final

#: Steps are integers in [0, 2**53 - 1]: the largest integer a browser's JavaScript represents exactly.
MAX_STEP: Final = 2**53 - 1
#: The highest rank of a distributed run (ranks are 0 .. 2**20 - 1).
MAX_RANK: Final = 2**20 - 1

#: Run ids, checkpoint ids and stream ids: made by clients, used in URLs and file names.
ID_PATTERN: Final = r"^[A-Za-z0-9_-]{1,64}$"
ID_RE: Final = re.compile(ID_PATTERN)

#: Largest request body the server accepts (bytes); larger gets HTTP 413.
MAX_BODY_BYTES: Final = 32 * 1024 * 1024

#: Metric key rules: 1-256 characters, no control characters, valid Unicode (no lone surrogates).
MAX_KEY_LENGTH: Final = 256

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
