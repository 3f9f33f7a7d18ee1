"""Ending runs however the process ends.

The first ``TrainingMonitor`` installs, once per process:

- ``sys.excepthook``: the previous hook prints the traceback first (so the capture records exactly the
  bytes the terminal shows), then every live run ends ``failed`` (``interrupted`` for Ctrl-C) with the
  exit code the process will have (1; 130 for Ctrl-C) and the exception's last line as the reason;
- ``threading.excepthook``: the previous hook prints (recorded the same way); a run that saw an uncaught
  exception in another thread ends ``failed`` (with that exception as the reason) even if the main
  thread returns normally;
- ``atexit``: runs still live when the interpreter exits (no ``with``, no ``finish()``) are finished with
  the process's exit status: ``completed``/0 after a normal end, the code given to ``sys.exit()``;
- a SIGTERM handler, only where SIGTERM still has its default action: it raises ``SystemExit(143)`` in
  the main thread, so ``with`` blocks, ``finally`` clauses and the above run, and the run ends
  ``interrupted`` with exit code 143 (what a shell reports for a SIGTERM);
- a thin wrapper around ``sys.exit`` that notes the code: the interpreter tells ``atexit`` nothing about
  how it is exiting, and ``sys.exit(n)`` is how scripts set their exit status.

Each hook calls the one it replaced and never raises. SIGINT keeps Python's own handler (it raises
``KeyboardInterrupt``).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import sys
import threading
import traceback
import types
from typing import Any, NoReturn, Protocol

#: Exit status a shell reports for a process ended by signal ``n`` is 128 + n.
SIGNAL_BASE = 128
REASON_MAX = 500


class Ending(Protocol):
    """What a live run offers to this module (``TrainingMonitor``)."""

    def _end_process(self, status: str, *, exit_code: int | None, reason: str | None) -> None: ...


class _State:
    def __init__(self) -> None:
        self.installed = False
        self.live: list[Ending] = []
        self.lock = threading.RLock()
        self.exit_status: Any = None
        self.exit_called = False
        self.signal: int | None = None
        self.thread_failures: list[str] = []
        self.recorded: dict[int, BaseException] = {}  # exceptions a `with` block already recorded
        self.uncaught: BaseException | None = None  # the exception ending the process (a rank's record says where)
        self.prev_excepthook: Any = None
        self.prev_thread_excepthook: Any = None
        self.orig_exit: Any = None
        self.pid = 0  # the process whose runs these are: a forked child inherits the hooks, not the runs


_state = _State()


def register(run: Ending) -> None:
    """Track ``run`` until ``unregister``; installs the hooks on first use."""
    with _state.lock:
        _install()
        _state.live.append(run)


def unregister(run: Ending) -> None:
    with _state.lock, contextlib.suppress(ValueError):
        _state.live.remove(run)


def thread_failures() -> int:
    """How many uncaught exceptions other threads had so far (a run compares before and after)."""
    return len(_state.thread_failures)


def uncaught() -> BaseException | None:
    """The uncaught exception ending the process, once the excepthook has seen it."""
    return _state.uncaught


def thread_failure_since(count: int) -> str | None:
    """The first uncaught thread exception after ``count`` of them, as a reason."""
    failures = _state.thread_failures[count:]
    return failures[0] if failures else None


def describe(exc: BaseException) -> str:
    """The exception as the last line of its traceback shows it (``ValueError: boom``)."""
    line = traceback.format_exception_only(type(exc), exc)[-1].strip()
    return line[:REASON_MAX]


def exit_code_of(code: object) -> int:
    """The process exit status that ``SystemExit(code)`` gives."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    return 1


def classify(exc: BaseException) -> tuple[str, int, str | None]:
    """(status, exit code, reason) of a run ended by ``exc`` reaching the top level."""
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted", SIGNAL_BASE + signal.SIGINT, describe(exc)
    if isinstance(exc, SystemExit):
        if _state.signal is not None and exc.code == SIGNAL_BASE + _state.signal:
            return "interrupted", SIGNAL_BASE + _state.signal, f"terminated by {signal.Signals(_state.signal).name}"
        code = exit_code_of(exc.code)
        return ("completed", 0, None) if code == 0 else ("failed", code, f"exit({exc.code!r})"[:REASON_MAX])
    return "failed", 1, describe(exc)


def render_uncaught(exc: BaseException) -> bytes:
    """The bytes Python prints when ``exc`` (being handled in some frame) ends the process: the
    default excepthook's traceback from the outermost frame down, or a ``SystemExit`` message."""
    if isinstance(exc, SystemExit):
        if exc.code is None or isinstance(exc.code, int):
            return b""
        return (str(exc.code) + "\n").encode("utf-8", "backslashreplace")
    tb = exc.__traceback__
    if tb is not None:  # the frames above the one handling it, as the top-level traceback will show them
        frame = tb.tb_frame.f_back
        while frame is not None:
            tb = types.TracebackType(tb, frame, frame.f_lasti, frame.f_lineno)
            frame = frame.f_back
    text = "".join(traceback.format_exception(type(exc), exc, tb))
    return text.encode("utf-8", "backslashreplace")


def mark_recorded(exc: BaseException) -> None:
    """``exc`` was recorded by a ``with`` block: the excepthook only prints it."""
    _state.recorded[id(exc)] = exc


def _end_all(status: str, exit_code: int | None, reason: str | None) -> None:
    if os.getpid() != _state.pid:
        return
    with _state.lock:
        runs = list(_state.live)
    for run in runs:
        try:
            run._end_process(status, exit_code=exit_code, reason=reason)
        except Exception as exc:  # never mask the real exit
            with contextlib.suppress(Exception):
                print(f"trainboard: could not finish the run at exit: {exc!r}", file=sys.stderr, flush=True)


# ---- the hooks ----
def _excepthook(exc_type: type[BaseException], exc: BaseException, tb: types.TracebackType | None) -> None:
    prev = _state.prev_excepthook or sys.__excepthook__
    try:
        prev(exc_type, exc, tb)
    finally:
        if _state.recorded.pop(id(exc), None) is None:
            _state.uncaught = exc
            status, code, reason = classify(exc)
            _end_all(status, code, reason)


def _thread_excepthook(args: threading.ExceptHookArgs) -> None:
    prev = _state.prev_thread_excepthook or threading.__excepthook__
    try:
        prev(args)
    finally:
        if args.exc_type is not SystemExit and args.exc_value is not None:
            name = args.thread.name if args.thread is not None else "?"
            _state.thread_failures.append(f"in thread {name!r}: {describe(args.exc_value)}"[:REASON_MAX])


def _on_sigterm(signum: int, frame: types.FrameType | None) -> None:
    with _state.lock:
        live = bool(_state.live) and os.getpid() == _state.pid
    if not live:  # nothing to finish (or a forked child): behave as if no handler were set
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
        return
    _state.signal = signum
    raise SystemExit(SIGNAL_BASE + signum)


def _exit(status: object = None) -> NoReturn:
    _state.exit_called = True
    _state.exit_status = status
    _state.orig_exit(status)
    raise SystemExit(status)  # not reached: the original raises


def _at_exit() -> None:
    with _state.lock:
        if not _state.live or os.getpid() != _state.pid:
            return
    last = getattr(sys, "last_value", None)
    reason: str | None
    if _state.signal is not None:
        status, code, reason = (
            "interrupted",
            SIGNAL_BASE + _state.signal,
            f"terminated by {signal.Signals(_state.signal).name}",
        )
    elif isinstance(last, BaseException):  # died of an exception while another excepthook was installed
        status, code, reason = classify(last)
    elif _state.exit_called:
        code = exit_code_of(_state.exit_status)
        status = "completed" if code == 0 else "failed"
        reason = None if code == 0 else f"exit({_state.exit_status!r})"[:REASON_MAX]
    else:
        status, code, reason = "completed", 0, None
    _end_all(status, code, reason)


def _install() -> None:
    if _state.installed:
        return
    _state.installed = True
    _state.pid = os.getpid()
    _state.prev_excepthook = sys.excepthook
    sys.excepthook = _excepthook
    _state.prev_thread_excepthook = threading.excepthook
    threading.excepthook = _thread_excepthook
    _state.orig_exit = sys.exit
    sys.exit = _exit
    atexit.register(_at_exit)
    if threading.current_thread() is threading.main_thread():
        with contextlib.suppress(ValueError, OSError):
            if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
                signal.signal(signal.SIGTERM, _on_sigterm)
