"""One indexed log line and its level."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

__all__ = ["Level", "Line"]


class Level(IntEnum):
    """Severity of a line; the values are Python `logging`'s, so `level >= Level.WARNING` filters."""

    DEBUG = 10
    INFO = 20
    WARNING = 30
    ERROR = 40
    CRITICAL = 50


@dataclass(frozen=True, slots=True)
class Line:
    """A line as a terminal finally shows it.

    `text` is the plain text (every escape sequence removed, trailing blanks stripped) for search;
    `display` is the same text with ANSI SGR colour sequences re-emitted per colour run (self-contained:
    it starts from the default style and ends with a reset when it coloured anything); `timestamp` is the
    time passed to `feed` with the bytes that last changed the line (for an empty line: the newline that
    ended it);
    `wrapped` is True when the line reached the splitter's column limit and continues on the next line.
    Line numbers and the source are the caller's.
    """

    text: str
    display: str
    timestamp: float
    level: Level
    wrapped: bool = False
