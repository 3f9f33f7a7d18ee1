"""Run a command under pseudo-terminals and tee what it prints.

Used by ``trainboard run -- CMD ...``. The child gets one pseudo-terminal for stdout and another for
stderr, so both streams look like terminals (tqdm redraws bars, colour libraries emit ANSI codes) and
stay apart. Every chunk is mirrored, unchanged, to the runner's own fd 1 / fd 2 as soon as it is read
and handed to ``on_output``.

Line endings: the ptys keep the kernel default ``OPOST | ONLCR``, so a ``\\n`` printed by the child is
read back as ``\\r\\n``. That is what a real terminal receives and what a terminal emulator (xterm.js)
needs to render it; the runner's own fd 1 then gets those bytes untouched. Every other output
post-processing flag is cleared, so ``\\n`` -> ``\\r\\n`` is the only change the kernel makes.

POSIX only (Linux, macOS).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import select
import signal
import struct
import subprocess
import termios
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import FrameType
from typing import Any

from trainboard.sdk.tee import write_all

__all__ = ["PtyRunResult", "run_under_pty"]

_log = logging.getLogger(__name__)

_READ_SIZE = 65536
# After the child has exited, keep reading until every pty reports EOF/EIO. A grandchild that kept
# the pty open (a daemon, a leaked worker) must not hold the runner forever: stop once the ptys have
# been quiet this long, or after the hard cap.
_DRAIN_IDLE_S = 0.25
_DRAIN_CAP_S = 5.0
# After a short read, pause this long so the child's line-by-line writes coalesce: fewer wake-ups
# make the child's pty writes cheaper (~12 % faster print loop on 16 cores, neutral on 2). The
# pty's kernel buffer (~12 KiB) absorbs the pause; a longer one would throttle the child.
# Without pidfd (macOS), child exit is noticed by polling at this interval.
_WAIT_POLL_S = 0.05
_FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
_DEFAULT_SIZE = (80, 24)
_Handler = Callable[[int, FrameType | None], Any] | int | signal.Handlers | None


@dataclass(frozen=True, slots=True)
class PtyRunResult:
    """How the command ended.

    ``exit_code`` follows the shell: the child's status, or ``128 + N`` when signal N killed it.
    ``signal`` is N in that case, else ``None``. ``forwarded_signal`` is the first of SIGINT, SIGTERM
    or SIGHUP that the runner received and passed on to the child's process group (``None`` when the
    run was not interrupted from outside); the child may have caught it and exited normally.
    """

    exit_code: int
    signal: int | None = None
    forwarded_signal: int | None = None

    @property
    def interrupted(self) -> bool:
        """True when the user pressed Ctrl-C (the runner got SIGINT)."""
        return self.forwarded_signal == signal.SIGINT


def run_under_pty(
    argv: Sequence[str],
    *,
    on_output: Callable[[str, bytes], None],
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
    mirror: bool = True,
    winsize: tuple[int, int] | None = None,
    separate_stderr: bool = True,
    on_start: Callable[[int], None] | None = None,
    on_resize: Callable[[int, int], None] | None = None,
    pass_fds: Sequence[int] = (),
) -> PtyRunResult:
    """Run ``argv`` with stdout and stderr on two pseudo-terminals (or, with ``separate_stderr=False``,
    both on one, exactly as a terminal shows them); return once it has exited.

    Two pseudo-terminals keep the streams apart, but their relative order is only as good as the reads:
    bytes a program writes to stderr and then to stdout within microseconds (a progress bar closing,
    then a print) are usually both ready when the runner wakes, and their order is lost. One
    pseudo-terminal keeps the exact order (everything is reported as ``"stdout"``).

    ``on_output(source, chunk)`` is called from the calling thread with ``source`` ``"stdout"`` or
    ``"stderr"`` for every chunk read; keep it cheap (enqueue), since the child blocks while the runner
    is busy. An exception from it is logged once and the run goes on. With ``mirror`` the chunks are
    also written to this process's fd 1 / fd 2.

    ``winsize`` is ``(columns, lines)``. Left out, the ptys take the size of this process's terminal
    and follow it on SIGWINCH; without a terminal, ``$COLUMNS`` x ``$LINES`` when set (as
    ``shutil.get_terminal_size`` reads them), else 80x24.

    The child runs in its own session with the stdout pty as controlling terminal; stdin is this
    process's stdin (``/dev/null`` when there is none). ``TERM`` defaults to ``xterm-256color`` when
    the environment has none. Called from the main thread, SIGINT, SIGTERM and SIGHUP are forwarded
    to the child's process group for the duration of the call (elsewhere signals are left alone).

    ``on_start(pid)`` is called once the child runs (e.g. to sample its memory).

    ``on_resize(columns, lines)`` is called with the ptys' size before the child starts and again, from
    the calling thread, each time a SIGWINCH gives them a new one, before any byte read after it is
    handed to ``on_output``: a recording can then be replayed at the width the program wrote for.

    ``pass_fds``: descriptors the child inherits (as ``subprocess.Popen``'s), e.g. the runner's real stderr
    for the SDK's notices (``sdk/notices.py``).

    Raises ``OSError`` (e.g. ``FileNotFoundError``) when the command cannot be started.
    """
    if not argv:
        raise ValueError("argv must not be empty")
    child_env = dict(os.environ if env is None else env)
    child_env.setdefault("TERM", "xterm-256color")
    size = winsize if winsize is not None else (_parent_size() or _env_size() or _DEFAULT_SIZE)
    # Decided before openpty(), which could otherwise hand out a closed 0/1/2 as a pty fd.
    stdin: int = 0 if _fd_is_open(0) else subprocess.DEVNULL
    mirror_to = [fd if mirror and _fd_is_open(fd) else None for fd in (1, 2)]

    masters: list[int] = []
    slaves: list[int] = []
    session: _Session | None = None
    try:
        for _ in range(2 if separate_stderr else 1):  # stdout[, stderr]
            master, slave = os.openpty()
            masters.append(master)
            slaves.append(slave)
            _configure_slave(slave)
            _set_size(master, size)
        session = _Session(masters, on_output, mirror_to, follow_winch=winsize is None, on_resize=on_resize)
        session.sized(size)
        # Handlers go in before the child exists, so no Ctrl-C can fall between spawn and forwarding.
        with session.signals_forwarded():
            session.spawn(
                list(argv),
                stdin=stdin,
                stdout=slaves[0],
                stderr=slaves[-1],
                env=child_env,
                cwd=cwd,
                start_new_session=True,
                preexec_fn=_take_controlling_tty,
                pass_fds=tuple(pass_fds),
            )
            for slave in slaves:
                os.close(slave)
            slaves.clear()
            if on_start is not None and session.proc is not None:
                on_start(session.proc.pid)
            session.pump()
            returncode = session.wait()
    except BaseException:
        if session is not None:
            session.hang_up()  # the runner failed (e.g. the callback raised SystemExit): no orphan
        raise
    finally:
        for fd in masters + slaves:
            os.close(fd)
    if returncode < 0:
        return PtyRunResult(128 - returncode, -returncode, session.forwarded)
    return PtyRunResult(returncode, None, session.forwarded)


class _Session:
    """The read/mirror loop and signal forwarding of one run."""

    def __init__(
        self,
        masters: list[int],
        on_output: Callable[[str, bytes], None],
        mirror_to: list[int | None],
        *,
        follow_winch: bool,
        on_resize: Callable[[int, int], None] | None = None,
    ) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        self.masters = tuple(masters)  # stdout's, then stderr's when the streams are kept apart
        self.on_output = on_output
        self.follow_winch = follow_winch
        self.forwarded: int | None = None
        self._sources = dict(zip(self.masters, ("stdout", "stderr"), strict=False))
        # Where each master's bytes are mirrored; dropped on a write error (terminal gone, EPIPE).
        targets = zip(self.masters, mirror_to, strict=False)
        self._mirror_to = {m: t for m, t in targets if t is not None}
        self._callback_failed = False
        self._on_resize = on_resize
        self._size: tuple[int, int] | None = None
        self._resized = False  # set by the SIGWINCH handler

    # -- the child -------------------------------------------------------------------------------

    def spawn(self, argv: list[str], **popen_kwargs: Any) -> None:
        self.proc = subprocess.Popen(argv, **popen_kwargs)
        if self.forwarded is not None:  # a signal came while it was starting
            self._killpg(self.forwarded)

    def wait(self) -> int:
        assert self.proc is not None
        return self.proc.wait()

    def hang_up(self) -> None:
        """SIGHUP the child's group as a closed terminal would; SIGKILL it if still there after 5 s."""
        if self.proc is None:
            return
        for signum in (signal.SIGHUP, signal.SIGKILL):
            self._killpg(signum)
            try:
                self.proc.wait(timeout=5)
                return
            except subprocess.TimeoutExpired:
                continue

    def _killpg(self, signum: int) -> None:
        if self.proc is not None and self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signum)

    # -- signals ---------------------------------------------------------------------------------

    @contextlib.contextmanager
    def signals_forwarded(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous: dict[int, _Handler] = {}
        try:
            for signum in _FORWARDED:
                previous[signum] = signal.signal(signum, self._forward)
            if self.follow_winch:
                previous[signal.SIGWINCH] = signal.signal(signal.SIGWINCH, self._resize)
            yield
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)

    def _forward(self, signum: int, frame: FrameType | None) -> None:
        if self.forwarded is None:
            self.forwarded = signum
        self._killpg(signum)

    def _resize(self, signum: int, frame: FrameType | None) -> None:
        size = _parent_size()
        if size is not None:
            for master in self.masters:
                with contextlib.suppress(OSError):
                    _set_size(master, size)
            # Told before the next read, not here: this handler may run between a read and its on_output,
            # and the bytes of that chunk were written at the old size.
            self._resized = True

    def sized(self, size: tuple[int, int]) -> None:
        """The ptys are ``size`` now: tell ``on_resize`` when that is a change."""
        if size == self._size or self._on_resize is None:
            return
        self._size = size
        try:
            self._on_resize(*size)
        except Exception:
            if not self._callback_failed:
                self._callback_failed = True
                _log.exception("trainboard: resize callback failed; output is still mirrored")

    # -- output ----------------------------------------------------------------------------------

    def pump(self) -> None:
        """Mirror output until the child has exited and the ptys are drained."""
        poller = select.poll()
        proc = self.proc
        assert proc is not None, "spawn() first"
        open_fds = set(self.masters)
        for fd in open_fds:
            poller.register(fd, select.POLLIN)
        pidfd = _pidfd_open(proc.pid)
        if pidfd is not None:
            poller.register(pidfd, select.POLLIN)
        exited_at: float | None = None
        try:
            while open_fds:
                if exited_at is None:
                    timeout_ms = None if pidfd is not None else _WAIT_POLL_S * 1000
                else:
                    if time.monotonic() - exited_at > _DRAIN_CAP_S:
                        break
                    timeout_ms = _DRAIN_IDLE_S * 1000
                events = poller.poll(timeout_ms)
                if not events and exited_at is not None:
                    break  # quiet after exit: a grandchild holds the pty open
                for fd, _mask in events:
                    if fd == pidfd:
                        poller.unregister(fd)
                        exited_at = time.monotonic()
                    elif not self._read(fd):
                        poller.unregister(fd)
                        open_fds.discard(fd)
                if exited_at is None and pidfd is None and proc.poll() is not None:
                    exited_at = time.monotonic()
        finally:
            if pidfd is not None:
                os.close(pidfd)

    def _read(self, master: int) -> bool:
        """Read one chunk from ``master``; False once it is closed (EIO/EOF)."""
        if self._resized:
            self._resized = False  # first: a SIGWINCH from here on is seen at the next read
            with contextlib.suppress(OSError):
                self.sized(_get_size(master))
        try:
            chunk = os.read(master, _READ_SIZE)
        except OSError as exc:
            if exc.errno == errno.EIO:  # Linux: every slave fd closed
                return False
            if exc.errno in (errno.EAGAIN, errno.EINTR):
                return True
            raise
        if not chunk:
            return False
        target = self._mirror_to.get(master)
        if target is not None and not write_all(target, chunk):
            del self._mirror_to[master]
        try:
            self.on_output(self._sources[master], chunk)
        except Exception:
            if not self._callback_failed:
                self._callback_failed = True
                _log.exception("trainboard: output callback failed; output is still mirrored")
        return True


def _configure_slave(fd: int) -> None:
    """Keep ``\\n`` -> ``\\r\\n`` (what a terminal shows) and clear every other output rewrite."""
    attrs = termios.tcgetattr(fd)
    oflag = attrs[1] | termios.OPOST | termios.ONLCR
    for name in ("OCRNL", "ONOCR", "ONLRET", "OLCUC", "OFILL"):
        oflag &= ~getattr(termios, name, 0)
    if hasattr(termios, "TABDLY"):
        oflag &= ~termios.TABDLY  # TAB0: tabs pass through
    attrs[1] = oflag
    attrs[3] &= ~termios.ECHO  # nothing is typed into these ptys; never echo
    termios.tcsetattr(fd, termios.TCSANOW, attrs)


def _set_size(fd: int, size: tuple[int, int]) -> None:
    columns, lines = size
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", lines, columns, 0, 0))


def _get_size(fd: int) -> tuple[int, int]:
    lines, columns = struct.unpack("HHHH", fcntl.ioctl(fd, termios.TIOCGWINSZ, b"\0" * 8))[:2]
    return columns, lines


def _parent_size() -> tuple[int, int] | None:
    """``(columns, lines)`` of this process's terminal (stdout, stderr or stdin), if it has one."""
    for fd in (1, 2, 0):
        try:
            columns, lines = os.get_terminal_size(fd)
        except OSError:
            continue
        if columns > 0 and lines > 0:
            return columns, lines
    return None


def _env_size() -> tuple[int, int] | None:
    """``($COLUMNS, $LINES)`` (24 lines when only the columns are set); None without a usable ``$COLUMNS``."""
    try:
        columns = int(os.environ.get("COLUMNS", ""))
        lines = int(os.environ.get("LINES", "24"))
    except ValueError:
        return None
    return (columns, lines) if 0 < columns <= 65535 and 0 < lines <= 65535 else None


def _fd_is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


def _pidfd_open(pid: int) -> int | None:
    """A descriptor that polls readable when ``pid`` exits (Linux >= 5.3), else None."""
    opener = getattr(os, "pidfd_open", None)
    if opener is None:
        return None
    try:
        fd: int = opener(pid)
    except OSError:
        return None
    return fd


def _take_controlling_tty() -> None:
    """In the child, after ``setsid()``: make the stdout pty (fd 1) the controlling terminal.

    Runs between fork and exec, so it does nothing but one ioctl.
    """
    fcntl.ioctl(1, termios.TIOCSCTTY, 0)
