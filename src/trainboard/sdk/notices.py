"""Where the SDK's own notices go: the real stderr, never the run's recorded terminal.

"Cannot reach the server", "N bytes are not uploaded yet", dead letters: these are about the recording, not
part of it. Printed on a captured ``sys.stderr`` they would be recorded into the run's own terminal (and stay
there after the bytes did arrive). So a notice is written to:

- the real stderr saved by the in-process capture (``OutputCapture`` calls ``redirect`` while it captures);
- else the stderr of ``trainboard run`` when this process runs under it: the runner passes a descriptor of
  its own stderr to the command (``$TRAINBOARD_NOTICE_FD`` = ``fd:device:inode``; the device and inode are
  checked, so a descriptor number inherited by a grandchild that means something else there is not used);
- else ``sys.stderr``.

Stdlib only: this runs inside training. ``notice`` never raises.
"""

from __future__ import annotations

import os
import sys
import threading

ENV_NOTICE_FD = "TRAINBOARD_NOTICE_FD"

_lock = threading.Lock()
_fd: int | None = None  # our own duplicate of the real stderr while output is captured in-process


def redirect(real_stderr: int) -> None:
    """Send notices to (a duplicate of) ``real_stderr`` until ``restore()``; the capture calls this."""
    global _fd
    try:
        fd = os.dup(real_stderr)
    except OSError:
        return
    with _lock:
        previous, _fd = _fd, fd
    if previous is not None:
        _close(previous)


def restore() -> None:
    """Notices go back to the default target."""
    global _fd
    with _lock:
        previous, _fd = _fd, None
    if previous is not None:
        _close(previous)


def describe_fd(fd: int) -> str:
    """The ``$TRAINBOARD_NOTICE_FD`` value naming ``fd`` for a child process."""
    st = os.fstat(fd)
    return f"{fd}:{st.st_dev}:{st.st_ino}"


def inherited_fd(value: str | None = None) -> int | None:
    """The descriptor ``$TRAINBOARD_NOTICE_FD`` names, when it is open here and is still the same file."""
    value = os.environ.get(ENV_NOTICE_FD) if value is None else value
    if not value:
        return None
    try:
        fd_s, dev_s, ino_s = value.split(":")
        fd = int(fd_s)
        st = os.fstat(fd)
    except (ValueError, OSError):
        return None
    if (st.st_dev, st.st_ino) != (int(dev_s), int(ino_s)):
        return None
    return fd


def notice(message: str) -> None:
    """Write ``trainboard: message`` as one line to the real stderr (see the module's docstring)."""
    line = f"trainboard: {message}\n"
    with _lock:
        fd = _fd if _fd is not None else inherited_fd()
        if fd is not None:
            try:
                _write_all(fd, line.encode("utf-8", "backslashreplace"))
                return
            except OSError:
                pass
    try:
        sys.stderr.write(line)
        sys.stderr.flush()
    except (OSError, ValueError, AttributeError):  # a closed or missing stderr: nowhere to say it
        pass


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _close(fd: int) -> None:
    try:
        os.close(fd)
    except OSError:
        pass
