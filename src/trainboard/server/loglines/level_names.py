"""Level names and numbers for structured lines: the standard ones, loguru's and those a program defines.

A line's level is kept as printed (upper-cased: ``warn`` -> ``WARN``) with a number, ``level_no``, on
Python ``logging``'s scale so ``level>=warning`` compares numbers:

| name                   | number |
|------------------------|--------|
| TRACE                  | 5      |
| DEBUG                  | 10     |
| INFO                   | 20     |
| SUCCESS, NOTICE        | 25     |
| WARNING, WARN          | 30     |
| ERROR, ERR             | 40     |
| CRITICAL, FATAL        | 50     |

A number the record itself carries (loguru's ``record.level.no``, a ``levelno`` field, a numeric ``level``)
wins over the table, so ``logging.addLevelName(25, "PROGRESS")`` with ``%(levelno)s`` in the format, or
loguru's ``logger.level("PROGRESS", no=23)``, order as the program defined them. A name the table does not
know and the record gives no number for keeps its name with ``level_no`` null; it is stored at INFO's
number (``STORED_UNKNOWN``) so level filters treat it as INFO, and lists of levels put it after every level
with a number.
"""

from __future__ import annotations

__all__ = ["KNOWN_LEVELS", "STORED_UNKNOWN", "level_number", "normalise_name", "sort_key"]

KNOWN_LEVELS: dict[str, int] = {
    "TRACE": 5,
    "DEBUG": 10,
    "INFO": 20,
    "SUCCESS": 25,
    "NOTICE": 25,
    "WARNING": 30,
    "WARN": 30,
    "ERROR": 40,
    "ERR": 40,
    "CRITICAL": 50,
    "FATAL": 50,
}

#: The number stored for a level of unknown value (filters treat it as INFO; the API says ``level_no: null``).
STORED_UNKNOWN = 20

#: The name shown for a bare number: the standard name of that value.
_BY_NUMBER = {5: "TRACE", 10: "DEBUG", 20: "INFO", 25: "SUCCESS", 30: "WARNING", 40: "ERROR", 50: "CRITICAL"}


def normalise_name(name: str) -> str:
    """A level name as printed, upper-cased and trimmed (at most 40 characters)."""
    return name.strip().upper()[:40]


def level_number(name: str | None, number: object = None) -> tuple[str, int | None] | None:
    """``(name, number)`` of a record's level: ``number`` (a record's own) wins, then the table; None when
    the record names no level at all. A bare number is named by the table (``30`` -> ``WARNING``)."""
    no = _as_int(number)
    if name is None or not str(name).strip():
        if no is None:
            return None
        return _BY_NUMBER.get(no, f"LEVEL {no}"), no
    upper = normalise_name(str(name))
    if no is None:
        no = KNOWN_LEVELS.get(upper)
    return upper, no


def _as_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and 0 <= value <= 1000:
        return value
    if isinstance(value, float) and value.is_integer() and 0 <= value <= 1000:
        return int(value)
    if isinstance(value, str) and value.isdigit() and int(value) <= 1000:
        return int(value)
    return None


def sort_key(name: str, number: int | None) -> tuple[int, int, str]:
    """Order of levels in lists: by number, those of unknown value after every numbered one (by name)."""
    return (1, 0, name) if number is None else (0, number, name)
