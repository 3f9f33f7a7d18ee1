"""What a rank died of, read from the tail of what it printed: the last Python traceback's exception line and the
innermost frame it names (``ValueError: boom (train.py:12 in step)``).

The per-rank wrapper (``sdk/rank_exec``) runs the rank as a child process, so the exception object is not at hand;
the traceback Python printed is. Only a traceback is read: a launcher's failure report or any other text is never
taken for an exception.
"""

from __future__ import annotations

import re
import traceback

__all__ = ["ERROR_MAX", "TracebackTail", "last_exception", "where_of"]

#: Longest ``error`` of a rank record (the wire format).
ERROR_MAX = 4000
_TAIL_BYTES = 64 * 1024
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")
#: torch.distributed's excepthook prefixes every traceback line with ``[rankN]: ``.
_RANK_PREFIX = re.compile(r"^\[rank\d+\]: ?", re.MULTILINE)
_FRAME = re.compile(r'^\s*File "(?P<file>[^"]+)", line (?P<line>\d+), in (?P<func>.+?)\s*$')
#: The exception line ending a traceback: a (dotted) class name, then ``: message`` or nothing.
_EXC = re.compile(r"^(?P<type>[A-Za-z_][\w.]*)(?::\s?(?P<msg>.*))?$")


class TracebackTail:
    """Keeps the last 64 KiB a rank printed (one stream or both) for :func:`last_exception`."""

    def __init__(self, limit: int = _TAIL_BYTES) -> None:
        self._limit = limit
        self._buf = bytearray()

    def feed(self, data: bytes) -> None:
        self._buf += data
        if len(self._buf) > 2 * self._limit:
            del self._buf[: len(self._buf) - self._limit]

    def exception(self) -> str | None:
        return last_exception(bytes(self._buf[-self._limit :]))


def last_exception(output: bytes) -> str | None:
    """``"ExcType: message (file:line in func)"`` of the last traceback in ``output``, or ``None`` without one."""
    text = _ANSI.sub("", output.decode("utf-8", "replace")).replace("\r\n", "\n").replace("\r", "\n")
    lines = _RANK_PREFIX.sub("", text).split("\n")
    start = None
    for i in range(len(lines) - 1, -1, -1):
        if lines[i].startswith("Traceback (most recent call last):"):
            start = i
            break
    if start is None:
        return None
    where = None
    for j in range(start + 1, len(lines)):
        line = lines[j]
        frame = _FRAME.match(line)
        if frame is not None:
            where = f"{frame['file'].rsplit('/', 1)[-1]}:{frame['line']} in {frame['func']}"
            continue
        if not line.strip() or line.startswith((" ", "\t")):
            continue
        exc = _EXC.match(line.strip())
        if exc is None:
            continue
        message = line.strip()  # its first line only: what follows may be anything the dying process printed
        described = f"{message} ({where})" if where else message
        return described[:ERROR_MAX]
    return None


def where_of(exc: BaseException | None) -> str | None:
    """Where ``exc`` was raised, as :func:`last_exception` writes it (``train.py:12 in step``), for the SDK that
    holds the exception itself."""
    if exc is None or exc.__traceback__ is None:
        return None
    frame = traceback.extract_tb(exc.__traceback__)[-1]
    return f"{frame.filename.rsplit('/', 1)[-1]}:{frame.lineno} in {frame.name}"
