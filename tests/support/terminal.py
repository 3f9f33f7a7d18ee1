"""A child process on a pseudo-terminal of a chosen size, as if started from a real terminal window."""

from __future__ import annotations

import errno
import fcntl
import os
import signal
import struct
import subprocess
import termios
import threading
import time
from collections.abc import Mapping, Sequence


def set_size(fd: int, cols: int, rows: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


class TerminalProcess:
    """``argv`` with stdin, stdout and stderr on one pty of ``cols`` x ``rows``; what it prints is read
    (so it never blocks) and kept in ``output``."""

    def __init__(self, argv: Sequence[str], *, cols: int, rows: int, env: Mapping[str, str] | None = None) -> None:
        self.master, slave = os.openpty()
        set_size(self.master, cols, rows)
        self.proc = subprocess.Popen(
            list(argv), stdin=slave, stdout=slave, stderr=slave, env=dict(env or os.environ), start_new_session=True
        )
        os.close(slave)
        self._output = bytearray()
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self.master, 65536)
            except OSError as exc:
                if exc.errno == errno.EINTR:
                    continue
                return  # EIO: every slave closed
            if not chunk:
                return
            with self._lock:
                self._output += chunk

    @property
    def output(self) -> bytes:
        with self._lock:
            return bytes(self._output)

    def wait_for(self, needle: bytes, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while needle not in self.output:
            if time.monotonic() > deadline or (self.proc.poll() is not None and not self._reader.is_alive()):
                raise AssertionError(
                    f"{needle!r} never printed; output so far:\n{self.output.decode(errors='replace')}"
                )
            time.sleep(0.05)

    def resize(self, cols: int, rows: int) -> None:
        """Resize the window, as dragging a terminal's corner does (new size, then SIGWINCH)."""
        set_size(self.master, cols, rows)
        os.kill(self.proc.pid, signal.SIGWINCH)

    def wait(self, timeout: float = 120.0) -> int:
        code = self.proc.wait(timeout)
        self._reader.join(10)
        os.close(self.master)
        return code
