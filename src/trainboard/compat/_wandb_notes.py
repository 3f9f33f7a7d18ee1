"""One warning per name for what the wandb shim accepts but cannot record, and wandb's own console helpers.

Every no-op of the shim goes through :func:`warn_once` so a script learns, once and by name, what trainboard did
not keep (never a silent drop).
"""

from __future__ import annotations

import sys

__all__ = ["PREFIX", "reset", "termerror", "termlog", "termwarn", "warn_once"]

#: Start of every line the shim prints about itself.
PREFIX = "trainboard's wandb shim:"

_warned: set[str] = set()


def warn_once(name: str, why: str) -> None:
    """Print ``trainboard's wandb shim: <name> <why>`` on stderr the first time ``name`` is seen."""
    if name not in _warned:
        _warned.add(name)
        print(f"{PREFIX} {name} {why}", file=sys.stderr, flush=True)


def reset() -> None:
    """Forget what was warned about (tests)."""
    _warned.clear()


def termlog(string: str = "", newline: bool = True, repeat: bool = True, prefix: bool = True) -> None:
    """``wandb.termlog``: ``wandb: <string>`` on stderr, as wandb prints it."""
    text = "\n".join(f"wandb: {line}" if prefix else line for line in str(string).split("\n"))
    print(text, file=sys.stderr, end="\n" if newline else "", flush=True)


def termwarn(string: str, newline: bool = True, repeat: bool = True, prefix: bool = True) -> None:
    """``wandb.termwarn``: ``wandb: WARNING <string>`` on stderr."""
    termlog(f"WARNING {string}" if prefix else string, newline=newline, repeat=repeat, prefix=prefix)


def termerror(string: str, newline: bool = True, repeat: bool = True, prefix: bool = True) -> None:
    """``wandb.termerror``: ``wandb: ERROR <string>`` on stderr."""
    termlog(f"ERROR {string}" if prefix else string, newline=newline, repeat=repeat, prefix=prefix)
