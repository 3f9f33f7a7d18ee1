"""How an ending exception maps to a run's status, exit code and reason, and what Python prints."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from trainboard.sdk import exits


@pytest.mark.parametrize(
    ("exc", "want"),
    [
        (ValueError("boom"), ("failed", 1, "ValueError: boom")),
        (KeyboardInterrupt(), ("interrupted", 130, "KeyboardInterrupt")),
        (SystemExit(), ("completed", 0, None)),
        (SystemExit(0), ("completed", 0, None)),
        (SystemExit(3), ("failed", 3, "exit(3)")),
        (SystemExit(256 + 2), ("failed", 2, "exit(258)")),
        (SystemExit("bad config"), ("failed", 1, "exit('bad config')")),
    ],
)
def test_classify(exc: BaseException, want: tuple[str, int, str | None]) -> None:
    assert exits.classify(exc) == want


def test_reason_is_bounded() -> None:
    assert len(exits.describe(ValueError("x" * 10_000))) == exits.REASON_MAX


SCRIPT = r"""
import sys
from trainboard.sdk import exits

def inner():
    raise KeyError("k")

def outer():
    try:
        inner()
    except KeyError as exc:
        raise ValueError("wrapped") from exc

def main():
    try:
        outer()
    except ValueError as exc:
        sys.stdout.buffer.write(exits.render_uncaught(exc))
        sys.stdout.flush()
        raise

main()
"""


def test_render_uncaught_is_what_python_prints(tmp_path: Path) -> None:
    """Rendered in a frame that handles the exception, it equals the traceback the interpreter then
    prints: the frames above the handler included, chained exceptions included."""
    script = tmp_path / "script.py"
    script.write_text(SCRIPT)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, timeout=60)
    assert done.returncode == 1
    assert done.stdout == done.stderr and b"KeyError: 'k'" in done.stdout and b"main()" in done.stdout


def test_render_uncaught_of_system_exit() -> None:
    assert exits.render_uncaught(SystemExit(3)) == b""
    assert exits.render_uncaught(SystemExit("bad config")) == b"bad config\n"


FORKED = r"""
import os, sys, time
from trainboard import TrainingMonitor
mon = TrainingMonitor("forked", dashboard_url="http://127.0.0.1:9", data_dir=sys.argv[1], system_metrics=False,
                      capture_output=False, flush_timeout=30)
pid = os.fork()
if pid == 0:
    sys.exit(0)  # a forked child ends: the parent's run is not its to finish (no 30 s flush wait)
os.waitpid(pid, 0)

os._exit(0)
"""


def test_a_forked_child_does_not_finish_the_parents_run(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-c", FORKED, str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "not uploaded yet" not in done.stderr  # the child did not try to flush the parent's run
