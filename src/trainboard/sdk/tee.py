"""Writing captured terminal bytes back where they were going.

Shared by the two ways the client captures output: the in-process capture (``sdk/capture.py``, a
script's own fd 1 / fd 2) and the PTY runner behind ``trainboard run`` (``sdk/pty_runner.py``). Both
mirror every chunk, unchanged, to the real terminal or file before handing it on.
"""

from __future__ import annotations

import os
import select

__all__ = ["wait_fd", "write_all"]


def write_all(fd: int, data: bytes) -> bool:
    """Write all of ``data`` to ``fd``; False when ``fd`` can no longer be written (closed, EPIPE).

    A descriptor left non-blocking by someone else (a shared terminal) is waited on, not given up.
    """
    view = memoryview(data)
    while view:
        try:
            n = os.write(fd, view)
        except BlockingIOError:
            wait_fd(fd, select.POLLOUT, None)
            continue
        except OSError:
            return False
        view = view[n:]
    return True


def wait_fd(fd: int, event: int, timeout_s: float | None) -> bool:
    """Whether ``fd`` became ready for ``event`` within ``timeout_s`` (None: wait forever).

    poll(), not select(), which fails on descriptors above 1023.
    """
    poller = select.poll()
    poller.register(fd, event)
    return bool(poller.poll(None if timeout_s is None else timeout_s * 1000))
