"""``--color auto|always|never`` for the commands that print colour: a Rich console made to match, and a
streaming filter that removes SGR (colour and style) sequences from raw terminal bytes."""

from __future__ import annotations

import enum
import os
import re
from typing import IO, Any

from rich.console import Console


class ColorMode(enum.StrEnum):
    """When to print colour: ``auto`` only on a terminal (and not with ``$NO_COLOR``), or always, or never."""

    AUTO = "auto"
    ALWAYS = "always"
    NEVER = "never"


def use_color(mode: ColorMode, stream: IO[Any]) -> bool:
    """Whether output to ``stream`` gets colour under ``mode``."""
    if mode is ColorMode.ALWAYS:
        return True
    if mode is ColorMode.NEVER or os.environ.get("NO_COLOR"):
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # closed or replaced streams
        return False


def make_console(mode: ColorMode, *, stderr: bool = False) -> Console:
    """A Rich console for stdout (or stderr) that follows ``mode``; ``auto`` is Rich's own detection."""
    if mode is ColorMode.ALWAYS:
        return Console(stderr=stderr, force_terminal=True)
    if mode is ColorMode.NEVER:
        return Console(stderr=stderr, color_system=None)
    return Console(stderr=stderr)


# CSI ... m: colours and text attributes. Other sequences (cursor moves, erase) are the bars' redraws
# and stay: they are what makes the raw output render as the terminal showed it.
_SGR = re.compile(rb"\x1b\[[0-9;:]*m")
_PARTIAL_SGR = re.compile(rb"\x1b(?:\[[0-9;:]*)?\Z")


class SgrStripper:
    """Removes SGR sequences from a byte stream fed in arbitrary chunks (a sequence may straddle two)."""

    def __init__(self) -> None:
        self._held = b""

    def feed(self, chunk: bytes) -> bytes:
        """The stripped bytes that are certain so far; an unfinished sequence at the end is held back."""
        data = self._held + chunk
        partial = _PARTIAL_SGR.search(data)
        cut = partial.start() if partial else len(data)
        self._held = data[cut:]
        return _SGR.sub(b"", data[:cut])

    def flush(self) -> bytes:
        """Whatever was held back (an escape sequence that never finished is not colour: kept as is)."""
        held, self._held = self._held, b""
        return held
