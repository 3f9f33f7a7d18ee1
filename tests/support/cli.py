"""The ``trainboard`` command line as a user runs it: a child process, its output captured as text."""

from __future__ import annotations

import subprocess
import sys


def cli(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """``python -m trainboard.cli ARGS`` (the exit status is the caller's to check)."""
    return subprocess.run(
        [sys.executable, "-m", "trainboard.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )
