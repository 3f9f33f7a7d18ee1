"""The ranks' output on the user's terminal, without recording it twice.

Each rank wrapper records its rank's bytes itself; if it also wrote them to its own stdout they would reach the
launcher's stdout — which ``trainboard run`` records as the launcher's stream — a second time. So ``trainboard run``
opens a FIFO (named in ``$TRAINBOARD_RANK_MIRROR``) that the rank wrappers of its node write to, and copies what
arrives to its own stdout only. A rank on another node (srun on a real cluster), where that FIFO does not exist,
writes to its stdout as without trainboard: the launcher relays it, so the launcher's stream then holds those
ranks' output as well (said once on the rank's stderr notice channel).
"""

from __future__ import annotations

import contextlib
import errno
import os
import select
import stat
import threading
from pathlib import Path

from trainboard.sdk.tee import write_all

__all__ = ["ENV_MIRROR", "MirrorReader", "open_writer"]

ENV_MIRROR = "TRAINBOARD_RANK_MIRROR"


class MirrorReader:
    """Copies what the node's rank wrappers write into the FIFO at ``path`` to descriptor ``out``, until ``close``."""

    def __init__(self, path: Path, out: int = 1) -> None:
        os.mkfifo(path, 0o600)
        self.path = path
        self._out = out
        self._read = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        self._keep = os.open(path, os.O_WRONLY)  # so the reader never sees EOF between two writers
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="trainboard-rank-mirror", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            ready, _, _ = select.select([self._read], [], [], 0.1)
            if not ready:
                if self._stop:
                    return
                continue
            try:
                data = os.read(self._read, 65536)
            except BlockingIOError:
                continue
            except OSError:
                return
            if data:
                with contextlib.suppress(OSError):
                    write_all(self._out, data)

    def close(self) -> None:
        """Stop once what is in the FIFO has been copied."""
        self._stop = True
        self._thread.join(timeout=5.0)
        for fd in (self._read, self._keep):
            with contextlib.suppress(OSError):
                os.close(fd)
        with contextlib.suppress(OSError):
            self.path.unlink()


def open_writer(env_value: str | None) -> int | None:
    """A blocking descriptor on the node's mirror FIFO, or ``None`` (no wrapper on this node, or it is gone)."""
    if not env_value:
        return None
    try:
        if not stat.S_ISFIFO(os.stat(env_value).st_mode):
            return None
        fd = os.open(env_value, os.O_WRONLY | os.O_NONBLOCK)
    except OSError as exc:
        if exc.errno not in (errno.ENOENT, errno.ENXIO, errno.EACCES):
            raise
        return None
    os.set_blocking(fd, True)
    return fd
