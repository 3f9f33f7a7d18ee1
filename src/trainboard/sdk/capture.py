"""File-descriptor level capture of this process's stdout and stderr (tee).

``TrainingMonitor(capture_output=True)`` uses it. Capturing ``sys.stdout`` alone would miss what C
extensions, ``os.write`` and child processes print, so fd 1 and fd 2 themselves are replaced: each is
saved with ``dup`` and a pipe is ``dup2``'d in its place, or a pseudo-terminal when the original is a
terminal, so ``isatty()`` stays true for C code and child processes (tqdm, colours). One reader
thread per substitute copies every byte to the saved original fd, unchanged, and hands it to
``on_output``. When stdout and stderr lead to the same terminal or file (the usual case), both share
one substitute, so their relative order is exactly what that terminal shows (reported as
``"stdout"``); when they lead to different places, each is captured apart.

The substitute pty has output post-processing off, so bytes reach the real terminal exactly as
written (the real terminal then applies its own ``\\n`` -> ``\\r\\n``), and ``on_output`` sees bare
``\\n`` line endings in both the pipe and the pty case.

Stdlib only: this module runs inside training.
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import fcntl
import os
import select
import struct
import sys
import termios
import threading
import time
import warnings
from collections.abc import Callable
from types import TracebackType

from trainboard.sdk.notices import redirect as _notices_to
from trainboard.sdk.notices import restore as _notices_back
from trainboard.sdk.tee import wait_fd, write_all

__all__ = ["OutputCapture"]

_READ_SIZE = 65536
# How long stop() waits for bytes that are still in flight in a pty (kernel flip buffer) when some
# other process (a leaked child) still holds the write end, so no EOF will come.
_STOP_GRACE_S = 0.05
# After a short read the reader pauses so output coalesces into fewer, larger chunks. Waking per write
# costs the printing thread dearly: each wake-up fights it for the GIL (an 80-char print loop ran
# 1.5-3x slower without this). A pty's kernel buffer holds only ~12 KiB, so its pause is shorter: a
# longer one would throttle the writer instead.
_COALESCE_PIPE_S = 0.001
_COALESCE_PTY_S = 0.0001
# Upper bound for stop(): a reader stuck writing to a blocked terminal must not hang the script.
_STOP_TIMEOUT_S = 5.0
# At exit, how long teeing for a child that outlived stop() may still pass its output on (_let_tee_finish).
_EXIT_TEE_S = 1.0
# How often a pty substitute copies the real terminal's window size (no SIGWINCH handler in a library).
_WINSIZE_EVERY_S = 0.5
_SOURCES = ((1, "stdout"), (2, "stderr"))


class OutputCapture:
    """Tee this process's fd 1 and fd 2 to ``on_output(source, chunk)``.

    ``source`` is ``"stdout"`` or ``"stderr"``; ``on_output`` runs on the two reader threads (so it
    must be thread-safe) and should be cheap (enqueue). It must not print: its own output would come
    back through the capture. If it raises, the error is reported once on the real terminal and the
    bytes keep flowing to it.

    ``start()`` and ``stop()`` are idempotent, and the object is a context manager. ``stop()`` puts
    the original fds back and returns once everything written before it has been teed and passed to
    ``on_output``. Capture left running is stopped at interpreter exit. Nothing is touched until
    ``start()``; a stream whose fd is closed is left alone. When the fds or threads cannot be had,
    ``start()`` puts everything back, issues a ``RuntimeWarning`` and the script runs uncaptured.
    Output that a child process still holding the stream writes after ``stop()`` keeps reaching the
    terminal (no longer ``on_output``) for as long as this process lives.

    Bytes still in the pipe when the process dies abruptly (``os._exit``, a segfault) can be lost.
    """

    def __init__(
        self, on_output: Callable[[str, bytes], None], on_size: Callable[[int, int], None] | None = None
    ) -> None:
        self._on_output = on_output
        #: ``on_size(columns, rows)``: the real terminal's size at start and after every change (see _report_size)
        self._on_size = on_size
        self._size: tuple[int, int] | None = None
        self._lock = threading.Lock()
        self._streams: list[_Stream] = []
        self._pid = 0
        self._error_reported = False
        self._size_lock = threading.Lock()

    @property
    def active(self) -> bool:
        """True between ``start()`` and ``stop()``."""
        return bool(self._streams) and self._pid == os.getpid()

    def start(self) -> None:
        """Replace fd 1 and fd 2 and start the reader threads (no-op when already started)."""
        with self._lock:
            if self._streams:
                return
            _flush_python_streams()
            self._pid = os.getpid()
            # stdout and stderr on the same terminal or file (the usual case) share one substitute, so
            # their relative order is exact, as on that terminal; apart, each gets its own.
            merged = _same_destination(1, 2)
            self._report_size(_terminal_size(1) or _terminal_size(2) or _env_size())
            if _fd_open(2):
                _notices_to(2)  # the SDK's own notices go to the real stderr, never into the recording
            try:
                for fd, source in _SOURCES:
                    if merged and fd == 2:
                        continue
                    stream = _Stream.open(fd, source, self._deliver, also=2 if merged else None)
                    if stream is not None:
                        stream.on_size = self._report_size
                        self._streams.append(stream)
                        stream.install()
            except (OSError, RuntimeError) as exc:  # out of fds / threads: run uncaptured
                streams, self._streams = self._streams, []
                for stream in streams:
                    stream.abandon()
                _notices_back()
                warnings.warn(f"trainboard: output capture is off: {exc!r}", RuntimeWarning, stacklevel=2)
                return
            if self._streams:
                atexit.register(self.stop)

    def stop(self) -> None:
        """Put the original fds back and drain what was written before (no-op when not started)."""
        with self._lock:
            if not self._streams:
                return
            streams, self._streams = self._streams, []
            atexit.unregister(self.stop)
            _notices_back()
            if self._pid != os.getpid():
                return  # a forked child: the fds and threads belong to the parent
            _flush_python_streams()
            for stream in streams:
                stream.restore()
            deadline = time.monotonic() + _STOP_TIMEOUT_S
            for stream in streams:
                stream.drained.wait(max(0.0, deadline - time.monotonic()))
            teeing = [stream.thread for stream in streams if stream.thread.is_alive()]
            if teeing:  # a child still holds the substitute: what it writes goes on to the terminal
                atexit.register(_let_tee_finish, teeing)

    def __enter__(self) -> OutputCapture:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _report_size(self, size: tuple[int, int] | None) -> None:
        """Pass a new terminal size to ``on_size`` (before the bytes written at that size): the real
        terminal's at start — else ``$COLUMNS`` / ``$LINES`` when set, what a program without a terminal
        would go by — then each change seen by a pty substitute's periodic size copy."""
        if size is None or self._on_size is None:
            return
        with self._size_lock:
            if size == self._size:
                return
            self._size = size
            try:
                self._on_size(*size)
            except Exception:  # a size is never worth breaking the capture for
                pass

    def _deliver(self, source: str, chunk: bytes, report_to: int) -> None:
        """Hand a chunk to the callback (reader threads); never lets its error stop the tee."""
        try:
            self._on_output(source, chunk)
        except BaseException as exc:  # a dead reader would block the script once the pipe fills
            if not self._error_reported:
                self._error_reported = True
                message = f"trainboard: output capture callback failed ({exc!r}); output still shown\n"
                write_all(report_to, message.encode())


def _let_tee_finish(threads: list[threading.Thread]) -> None:
    """At exit, give teeing that outlived ``stop()`` a moment (``_EXIT_TEE_S`` at most) to pass on what a child
    wrote just before the process ends: its reader threads are daemons and would die with the bytes in hand."""
    deadline = time.monotonic() + _EXIT_TEE_S
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))


class _Stream:
    """One captured fd: the saved original, the read end of its substitute, and the reader thread."""

    def __init__(
        self,
        fd: int,
        source: str,
        original: int,
        *,
        is_pty: bool,
        deliver: Callable[[str, bytes, int], None],
    ) -> None:
        self.fd = fd
        self.source = source
        self.original = original
        self.is_pty = is_pty
        self.deliver = deliver
        self.drained = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"trainboard-capture-{source}", daemon=True)
        self.read_end = self._write_end = self._wake_r = self._wake_w = -1
        self._tee = True
        self._owner_lock = threading.Lock()
        self._installed = False
        self._restored = False
        self._reader_done = False
        #: Another fd (and its saved original) sharing this substitute: stderr merged into stdout.
        self.also: tuple[int, int] | None = None
        #: Told the real terminal's size after each periodic copy (OutputCapture._report_size).
        self.on_size: Callable[[tuple[int, int] | None], None] | None = None

    @classmethod
    def open(
        cls, fd: int, source: str, deliver: Callable[[str, bytes, int], None], *, also: int | None = None
    ) -> _Stream | None:
        """Save ``fd`` and make its substitute: a pipe, or a pty when ``fd`` is a terminal. With
        ``also``, that fd (saved too) is put on the same substitute.

        None when ``fd`` is closed. Nothing is changed for the process until ``install()``.
        """
        try:
            original = os.dup(fd)
        except OSError:
            return None
        stream = cls(fd, source, original, is_pty=os.isatty(original), deliver=deliver)
        if also is not None:
            try:
                stream.also = (also, os.dup(also))
            except OSError:
                stream.also = None
        try:
            if stream.is_pty:
                stream.read_end, stream._write_end = os.openpty()
                _make_transparent(stream._write_end)
                _copy_size(original, stream.read_end)
            else:
                stream.read_end, stream._write_end = os.pipe()
            stream._wake_r, stream._wake_w = os.pipe()
        except OSError:
            stream.abandon()
            raise
        return stream

    def install(self) -> None:
        """Put the substitute on ``fd`` and start the reader."""
        os.dup2(self._write_end, self.fd)
        if self.also is not None:
            os.dup2(self._write_end, self.also[0])
        self._installed = True
        os.close(self._write_end)
        self._write_end = -1
        self.thread.start()

    def abandon(self) -> None:
        """Undo a failed ``open()`` / ``install()``."""
        if self.thread.is_alive():
            self.restore()
            self.drained.wait(_STOP_TIMEOUT_S)
            return
        if self._installed:
            os.dup2(self.original, self.fd)
        self._restore_also()
        for fd in (self.original, self.read_end, self._write_end, self._wake_r, self._wake_w):
            if fd >= 0:
                os.close(fd)

    def restore(self) -> None:
        """Put the original back on ``fd`` and tell the reader to finish."""
        with self._owner_lock:
            os.dup2(self.original, self.fd)
            self._restore_also()
            self._restored = True
            if self._reader_done:
                os.close(self.original)
        with contextlib.suppress(BrokenPipeError):  # the reader already saw EOF and left
            os.write(self._wake_w, b"x")
        os.close(self._wake_w)

    def _restore_also(self) -> None:
        if self.also is not None:
            fd, saved = self.also
            self.also = None
            if self._installed:
                os.dup2(saved, fd)
            os.close(saved)

    def _run(self) -> None:
        poller = select.poll()
        poller.register(self.read_end, select.POLLIN)
        poller.register(self._wake_r, select.POLLIN)
        timeout_ms = _WINSIZE_EVERY_S * 1000 if self.is_pty else None
        next_size_check = time.monotonic() + _WINSIZE_EVERY_S
        try:
            while True:
                events = dict(poller.poll(timeout_ms))
                if self.read_end in events:
                    if not self._pump():
                        break
                elif self._wake_r in events:
                    # stop() restored the fd but no EOF came: another process (a child) still holds
                    # the write end. Take what is in flight, then keep teeing for it, without callbacks.
                    poller.unregister(self._wake_r)
                    self._drain_quiet()
                    self.drained.set()
                    timeout_ms = None
                if self.is_pty and not self.drained.is_set() and time.monotonic() >= next_size_check:
                    next_size_check = time.monotonic() + _WINSIZE_EVERY_S
                    size = _copy_size(self.original, self.read_end)
                    if self.on_size is not None:
                        self.on_size(size)
        finally:
            self.drained.set()
            os.close(self.read_end)
            os.close(self._wake_r)
            # ``original`` is still needed by restore() if this thread ended early; last one closes it.
            with self._owner_lock:
                self._reader_done = True
                if self._restored:
                    os.close(self.original)

    def _drain_quiet(self) -> None:
        """Read until EOF or until the substitute has been quiet for the grace period."""
        while wait_fd(self.read_end, select.POLLIN, _STOP_GRACE_S):
            if not self._pump():
                return

    def _pump(self) -> bool:
        """Move one chunk; False at EOF (pipe) or EIO (pty with every slave closed)."""
        try:
            chunk = os.read(self.read_end, _READ_SIZE)
        except OSError as exc:
            return exc.errno in (errno.EAGAIN, errno.EINTR)  # EIO: pty with every slave closed
        if not chunk:
            return False
        if self._tee and not write_all(self.original, chunk):
            self._tee = False  # the real terminal is gone; keep capturing
        if not self.drained.is_set():
            self.deliver(self.source, chunk, self.original)
        if len(chunk) < _READ_SIZE:
            time.sleep(_COALESCE_PTY_S if self.is_pty else _COALESCE_PIPE_S)
        return True


def _same_destination(a: int, b: int) -> bool:
    """Whether fds ``a`` and ``b`` lead to the same terminal or file."""
    try:
        sa, sb = os.fstat(a), os.fstat(b)
    except OSError:
        return False
    return (sa.st_dev, sa.st_ino, sa.st_rdev) == (sb.st_dev, sb.st_ino, sb.st_rdev)


def _flush_python_streams() -> None:
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        if stream is not None:
            with contextlib.suppress(Exception):
                stream.flush()


def _make_transparent(slave: int) -> None:
    """No output rewriting on the substitute pty: the real terminal does its own."""
    attrs = termios.tcgetattr(slave)
    attrs[1] &= ~termios.OPOST
    attrs[3] &= ~termios.ECHO
    termios.tcsetattr(slave, termios.TCSANOW, attrs)


def _copy_size(terminal: int, master: int) -> tuple[int, int] | None:
    """Give ``master`` the size of ``terminal``; returns it as ``(columns, rows)`` (None if unknown)."""
    with contextlib.suppress(OSError):
        packed = fcntl.ioctl(terminal, termios.TIOCGWINSZ, b"\0" * 8)
        rows, columns = struct.unpack("HHHH", packed)[:2]
        if (rows, columns) != (0, 0):
            fcntl.ioctl(master, termios.TIOCSWINSZ, packed)
            return columns, rows
    return None


def _terminal_size(fd: int) -> tuple[int, int] | None:
    """``(columns, rows)`` of the terminal on ``fd`` (None when it is not one)."""
    try:
        columns, rows = os.get_terminal_size(fd)
    except OSError:
        return None
    return (columns, rows) if columns > 0 and rows > 0 else None


def _env_size() -> tuple[int, int] | None:
    """``$COLUMNS`` x ``$LINES`` (24 rows when only the columns are set), as ``shutil.get_terminal_size``
    reads them; None when ``$COLUMNS`` is unset or not a positive number."""
    try:
        columns = int(os.environ.get("COLUMNS", ""))
    except ValueError:
        return None
    try:
        rows = int(os.environ.get("LINES", "24"))
    except ValueError:
        rows = 24
    return (columns, rows if rows > 0 else 24) if 0 < columns <= 65535 else None


def _fd_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True
