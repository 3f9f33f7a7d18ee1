"""The on-disk journal: every operation is written here before it is sent, and dropped only after
the server acknowledged it (the server acknowledges after its commit).

One journal per client stream: ``<data>/spool/<run_id>/<stream>.journal`` holds one operation per line,
``METHOD PATH<TAB>JSON-BODY``; ``<stream>.ack`` holds the byte offset up to which the server has
acknowledged. A process that ends before the server came back leaves both behind, and
``trainboard sync`` replays them later; the server ignores what it already has (per-point sequence
numbers), so replaying is always safe. The live process holds an exclusive ``flock`` on its journal so
that ``sync`` never replays a journal that is still being written.

Each journal belongs to one server: ``<stream>.server`` holds the URL it was written for, and leftovers are
uploaded only there (by the next SDK start talking to that server, or ``trainboard sync``); another server's
journals are sent only on request (``trainboard sync --to URL``), since their runs were created on that
server and one server's data must not end up on another. Journals written before the server was recorded
(no ``.server`` file) are left alone by an SDK start and uploaded by an explicit ``trainboard sync`` to the
server it is given (as before), and listed as "server not recorded" by ``trainboard sync --list``.

Durability: lines are written and flushed to the OS (surviving a crash of the training process), not
fsynced per batch (a power loss may lose the last lines not yet uploaded). A process killed in the
middle of a write leaves a torn last line; whoever opens the journal next (``sync``, the next SDK
start) drops that partial line and says so (``Journal.torn``), so a replay always ends.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

SUFFIX = ".journal"
#: Beside each journal: the URL of the server it belongs to.
SERVER_SUFFIX = ".server"
_DEFAULT_PORTS = {"http": 80, "https": 443}


def server_key(url: str) -> str:
    """A server URL reduced for comparison: scheme and host lower-cased, default port and trailing ``/`` dropped."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host if port is None or port == _DEFAULT_PORTS.get(scheme) else f"{host}:{port}"
    return f"{scheme}://{netloc}{parts.path.rstrip('/')}"


def same_server(a: str, b: str) -> bool:
    """Whether two URLs name the same server (``http://h:80/`` and ``http://H`` do)."""
    return server_key(a) == server_key(b)


def server_of(journal_path: Path) -> str | None:
    """The server a journal belongs to; None for a journal written before servers were recorded."""
    try:
        return journal_path.with_suffix(SERVER_SUFFIX).read_text().strip() or None
    except OSError:
        return None


@dataclass(frozen=True)
class Record:
    """One journal line, parsed lazily: the body is sent as it is."""

    end: int  # byte offset just past this line
    method: str
    path: str
    body: bytes


def encode(method: str, path: str, body: bytes) -> bytes:
    return f"{method} {path}\t".encode() + body + b"\n"


class Journal:
    """Append-only journal of one client stream, with its acknowledgement cursor."""

    def __init__(self, path: Path, *, lock: bool = True, server: str | None = None) -> None:
        self.path = path
        self.ack_path = path.with_suffix(".ack")
        self.server_path = path.with_suffix(SERVER_SUFFIX)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = open(path, "ab")  # noqa: SIM115 - held for the journal's lifetime
        self.locked = False
        if lock:
            try:
                fcntl.flock(self._fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                self.locked = True
            except OSError:
                self._fh.close()
                raise
        self.size = self._fh.seek(0, os.SEEK_END)
        #: Bytes of a torn last line dropped at open (a writer killed mid-write); 0 normally.
        self.torn = self._drop_torn_tail() if self.locked else 0
        self.acked = self._read_ack()
        if server is not None and self.locked and server_of(path) is None:
            tmp = self.server_path.with_suffix(".server.tmp")
            tmp.write_text(server)
            os.replace(tmp, self.server_path)

    @classmethod
    def create(cls, root: Path, run_id: str, stream: str, *, server: str | None = None) -> Journal:
        """The journal of a new stream; ``server``: the URL it is written for (recorded beside it)."""
        return cls(root / run_id / f"{stream}{SUFFIX}", server=server)

    @property
    def server(self) -> str | None:
        """The server this journal belongs to (None: not recorded, an older journal)."""
        return server_of(self.path)

    def _drop_torn_tail(self) -> int:
        """Cut a last line without its newline (only the lock holder may: nobody else writes)."""
        if self.size == 0:
            return 0
        with open(self.path, "rb") as fh:
            fh.seek(self.size - 1)
            if fh.read(1) == b"\n":
                return 0
            keep, pos = 0, self.size
            while pos > 0 and not keep:
                start = max(0, pos - (1 << 16))
                fh.seek(start)
                block = fh.read(pos - start)
                nl = block.rfind(b"\n")
                if nl >= 0:
                    keep = start + nl + 1
                pos = start
        torn = self.size - keep
        self._fh.truncate(keep)
        self.size = self._fh.seek(0, os.SEEK_END)
        return torn

    def _read_ack(self) -> int:
        try:
            return min(int(self.ack_path.read_text().strip() or 0), self.size)
        except (FileNotFoundError, ValueError):
            return 0

    def append(self, lines: list[bytes]) -> int:
        """Append encoded lines; returns the new end offset."""
        if lines:
            data = b"".join(lines)
            self._fh.write(data)
            self._fh.flush()
            self.size += len(data)
        return self.size

    def pending(self, max_bytes: int = 8 << 20) -> list[Record]:
        """Unacknowledged records from the ack cursor, at least one, about ``max_bytes`` in all."""
        end = self.size  # only whole lines lie below it (another thread may be appending)
        if self.acked >= end:
            return []
        records = []
        with open(self.path, "rb") as fh:
            fh.seek(self.acked)
            data = fh.read(max(1, min(max_bytes, end - self.acked)))
            if not data.endswith(b"\n"):
                data += fh.readline()  # complete the line that was cut
        pos = self.acked
        for line in data.split(b"\n")[:-1]:
            pos += len(line) + 1
            head, _, body = line.partition(b"\t")
            method, _, path = head.decode().partition(" ")
            records.append(Record(end=pos, method=method, path=path, body=body))
        return records

    def ack(self, offset: int) -> None:
        """Record that the server has everything up to ``offset``."""
        self.acked = offset
        tmp = self.ack_path.with_suffix(".ack.tmp")
        tmp.write_text(str(offset))
        os.replace(tmp, self.ack_path)

    @property
    def done(self) -> bool:
        return self.acked >= self.size

    def close(self, *, remove_if_done: bool = True) -> None:
        """Release the lock; delete the files when everything was acknowledged."""
        if self._fh.closed:
            return
        if remove_if_done and self.done:
            for p in (self.path, self.ack_path, self.server_path):
                p.unlink(missing_ok=True)
            try:
                self.path.parent.rmdir()
            except OSError:
                pass
        self._fh.close()


def find_leftovers(root: Path, *, exclude: Path | None = None, server: str | None = None) -> list[Path]:
    """Journals under ``root`` with something not yet acknowledged, oldest first (``exclude``: our own).
    With ``server``, only the journals recorded as belonging to that server."""
    out = []
    for path in find_journals(root):
        if path == exclude:
            continue
        if server is not None:
            recorded = server_of(path)
            if recorded is None or not same_server(recorded, server):
                continue
        try:
            size = path.stat().st_size
            ack_text = path.with_suffix(".ack").read_text().strip() if path.with_suffix(".ack").exists() else "0"
            acked = int(ack_text or 0)
        except (OSError, ValueError):
            acked = 0
            size = 1
        if size > acked:
            out.append(path)
    return out


def find_journals(root: Path) -> Iterator[Path]:
    """All journals under a spool root, oldest first."""
    if not root.is_dir():
        return iter(())
    return iter(sorted(root.glob(f"*/*{SUFFIX}"), key=lambda p: p.stat().st_mtime))
