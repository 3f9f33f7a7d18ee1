"""The SDK's one in-memory queue, its journal writer and its sender.

The training thread only appends tuples to a deque (``metrics``, ``log_bytes``, ``op``). The journal
thread wakes every ``interval`` seconds (sooner when much is queued or output arrives), turns what is
queued into journal lines — metric points get per-stream sequence numbers here — and appends them to
the on-disk journal: so whatever was logged or printed is on disk within ``JOURNAL_LATENCY_S``, however
slow the server is, and that is all a SIGKILL can lose. The sender thread sends unacknowledged lines
in order over one keep-alive connection and advances the journal's ack cursor after each acknowledged
request. When the server is unreachable it retries with exponential backoff (1, 2, 4, 8 ... 30 s),
warning once on stderr; what the server refuses or keeps failing on is moved to a dead-letter file
(see ``replay``). A 401/403 (no token, a revoked or too weak one) is warned once and the data stays in the
journal, retried with the same backoff, for ``trainboard sync --token`` to upload later. Once its own
journal is uploaded, the sender also uploads journals that earlier processes left in the same spool
directory for the same server (what ``trainboard sync`` does), saying so once on stderr; it yields to the
live journal between requests, so a large leftover never holds up this run's data.
"""

from __future__ import annotations

import base64
import json
import math
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trainboard.sdk import notices
from trainboard.sdk.encoding import safe_str
from trainboard.sdk.replay import Replayer
from trainboard.sdk.spool import Journal, Record, encode, find_leftovers
from trainboard.sdk.transport import Outcome, Reply, Transport
from trainboard.wire.checks import safe_line
from trainboard.wire.metric_batch import BlockEncoder, encode_blocks

#: Points per metrics request at most (keeps each request well under the server's body limit).
MAX_POINTS_PER_OP = 200_000
#: Raw log bytes per journal record at most (the sender coalesces consecutive records into one request).
MAX_LOG_BYTES_PER_OP = 1 << 20
#: The journal thread drains at most this often (output arriving within it goes into one journal record).
DRAIN_EVERY_S = 0.005
#: Upper bound of the wait at the end of a run while the upload still makes progress (``close``).
FINISH_MAX_WAIT_S = 300.0
#: After this long the wait at the end of a run says once what it waits for.
FINISH_ANNOUNCE_S = 2.0
#: Upper bound of the time from ``log_metrics`` / a printed byte to its journal line (documented).
JOURNAL_LATENCY_S = 0.1
BACKOFF_START = 1.0
BACKOFF_MAX = 30.0

_FLUSH = "flush"


#: The columnar metric encoding (the wire codec; the server decodes it with the same module).
_BlockBuilder = BlockEncoder


class Pipeline:
    """Queue -> journal (one thread) -> server (another thread)."""

    def __init__(
        self,
        *,
        run_id: str,
        stream: str,
        journal: Journal,
        transport: Transport,
        interval: float = 0.05,
        heartbeat_interval: float = 10.0,
        warn: Callable[[str], None] | None = None,
        upload_leftovers: bool = True,
        rank: int | None = None,
    ) -> None:
        self.run_id = run_id
        self.rank = rank  # a distributed job's rank: its output chunks and (rank > 0) metric points carry it
        self.stream = stream
        self.journal = journal
        self.transport = transport
        self.interval = min(interval, JOURNAL_LATENCY_S / 2)
        self.heartbeat_interval = heartbeat_interval
        self._warn = warn or notices.notice  # the real stderr, never the run's recorded terminal
        self._queue: deque[tuple[Any, ...]] = deque()
        self._wake = threading.Event()
        self._send_wake = threading.Event()
        self._stop = False
        self._seq = 0
        self._retry_at = 0.0
        self._backoff = BACKOFF_START
        self._warned_down = False
        self._warned_denied = False
        self._warned_rejected: set[tuple[int | None, str]] = set()
        self._last_heartbeat = 0.0
        self._waiting: list[tuple[int, threading.Event]] = []
        self._waiting_lock = threading.Lock()
        self._replayer = Replayer(journal, transport, on_sent=self._sent_own, on_dead=self._dead)
        self._outage: Outage | None = None  # the server unreachable since, until its backlog is delivered
        self._leftovers: list[Path] = (
            find_leftovers(journal.path.parent.parent, exclude=journal.path, server=transport.base_url)
            if upload_leftovers
            else []
        )
        self._leftover: tuple[Journal, Replayer] | None = None  # the leftover being replayed, kept across yields
        self._announced_leftovers = False
        self._leftovers_done = threading.Event()
        if not self._leftovers:
            self._leftovers_done.set()
        self._released = False
        self._release_lock = threading.Lock()
        self.connected: bool | None = None  # unknown until the first request
        self._thread = threading.Thread(target=self._run, name="trainboard-sdk", daemon=True)
        self._sender = threading.Thread(target=self._run_sender, name="trainboard-sdk-send", daemon=True)
        self._thread.start()
        self._sender.start()

    # ---- called from the training thread: append only ----
    def metrics(self, step: int, ts: float, values: dict[str, float]) -> None:
        q = self._queue
        q.append(("m", step, ts, values))
        if len(q) > 50_000:
            self._wake.set()

    def log_bytes(self, source: str, data: bytes, ts: float) -> None:
        self._queue.append(("l", source, data, ts))
        self._wake.set()  # terminal output goes out at once (people watch it live); bursts batch naturally

    def terminal_size(self, cols: int, rows: int) -> None:
        """The terminal is ``cols`` x ``rows`` from the next output byte on (sent as an empty raw chunk
        carrying ``size``, so the server places it at the right offset of the log)."""
        self._queue.append(("l", "stdout", b"", time.time(), {"cols": cols, "rows": rows}))
        self._wake.set()

    def log_record(self, ts: float, level: str, logger: str, message: str) -> None:
        self._queue.append(("r", ts, level, safe_str(logger), safe_str(message)))
        self._wake.set()

    def op(self, method: str, path: str, body: dict[str, Any]) -> None:
        self._queue.append(("o", method, path, json.dumps(body, separators=(",", ":")).encode()))
        self._wake.set()

    def flush(self, timeout: float) -> bool:
        """Wait until everything queued before this call is acknowledged; False on timeout."""
        done = threading.Event()
        self._queue.append((_FLUSH, done))
        self._wake.set()
        if self._retry_at > time.monotonic():
            self._retry_at = 0.0  # try once more right away
        return done.wait(timeout)

    def close(self, timeout: float, *, max_wait: float = FINISH_MAX_WAIT_S) -> bool:
        """Flush, then stop the threads. Returns whether all of this run's data was acknowledged.

        Waits for progress, not for a clock: as long as requests keep being acknowledged it goes on, until
        ``timeout`` seconds pass without any, or ``max(timeout, max_wait)`` seconds in all (the documented
        upper bound, ``FINISH_MAX_WAIT_S``); after ``FINISH_ANNOUNCE_S`` it says once on the real stderr
        what it waits for. Journals left by earlier runs get what remains of ``timeout``. What is left
        stays in the journal for the next start or ``trainboard sync``, and the caller says so."""
        start = time.monotonic()
        done = threading.Event()
        self._queue.append((_FLUSH, done))
        self._wake.set()
        self._retry_at = 0.0  # try once more right away
        hard = start + max(timeout, max_wait)
        acked, progress_at, announced = self.journal.acked, start, False
        while not done.wait(0.1):
            now = time.monotonic()
            if self.journal.acked != acked:
                acked, progress_at = self.journal.acked, now
            if now - progress_at >= timeout or now >= hard:
                break
            if not announced and now - start >= FINISH_ANNOUNCE_S and self.unacked_bytes:
                announced = True
                self._warn(
                    f"waiting for the upload of the last {self.unacked_bytes} bytes of run {self.run_id} to "
                    f"{self.transport.base_url} (while it makes progress: up to {timeout:g} s without any, "
                    f"{hard - start:.0f} s in all)"
                )
        ok = done.is_set()
        if ok and (self._queue or self.unacked_bytes):  # queued by the sender meanwhile (an outage report)
            ok = self.flush(max(1.0, min(timeout, hard - time.monotonic())))
        if ok:
            self._send_wake.set()
            self._leftovers_done.wait(max(0.0, start + timeout - time.monotonic()))
            if self._announced_leftovers and not self._leftovers_done.is_set():
                self._warn(
                    f"what earlier runs left in {self.journal.path.parent.parent} is not all uploaded yet; the "
                    "next start or `trainboard sync` goes on with it"
                )
        if self._outage is not None:  # ending before the server came back (or before its backlog went)
            self._report_unfinished_outage(self._outage)
            self._outage = None
        self._stop = True
        self._wake.set()
        self._send_wake.set()
        self._thread.join(timeout=5.0)
        self._sender.join(timeout=1.0 if ok else 0.2)  # a request may hang: the journal keeps its data
        if not self._sender.is_alive():
            self._release()
        return ok

    def _release(self) -> None:
        """Close the connection and the journal (its lock goes: a background uploader or ``sync`` may take it),
        once: by ``close`` or, when a request was still hanging then, by the sender thread when it returns."""
        with self._release_lock:
            if self._released:
                return
            self._released = True
        self.transport.close()
        self.journal.close()

    @property
    def denied(self) -> bool:
        """Whether the server refused the credentials (401/403) since the last acknowledged request."""
        return self._warned_denied

    @property
    def unacked_bytes(self) -> int:
        return self.journal.size - self.journal.acked

    # ---- the journal thread ----
    def _run(self) -> None:
        last_drain = 0.0
        while True:
            self._wake.wait(self.interval)
            pause = DRAIN_EVERY_S - (time.monotonic() - last_drain)
            if pause > 0 and not self._stop:
                # output wakes this thread at once, but not for every chunk: a redraw-heavy program
                # writes thousands a second, and a drain per chunk fights its reader for the GIL
                time.sleep(pause)
            self._wake.clear()
            last_drain = time.monotonic()
            stopping = self._stop
            try:
                waiters = self._drain()
                if waiters:
                    with self._waiting_lock:
                        self._waiting.extend(waiters)
                if self.journal.size > self.journal.acked or waiters:
                    self._send_wake.set()
            except Exception as exc:  # never let the thread die: training must go on
                self._warn(f"internal error in the journal thread: {exc!r}")
                time.sleep(0.5)
            self._resolve_waiters()
            if stopping:
                return

    def _resolve_waiters(self) -> None:
        with self._waiting_lock:
            if not self._waiting:
                return
            acked = self.journal.acked
            still = []
            for offset, ev in self._waiting:
                if acked >= offset:
                    ev.set()
                else:
                    still.append((offset, ev))
            self._waiting = still

    def _drain(self) -> list[tuple[int, threading.Event]]:
        q = self._queue
        lines: list[bytes] = []
        flushes: list[threading.Event] = []
        builder = BlockEncoder()
        chunks: list[dict[str, Any]] = []
        chunk_bytes = 0
        base = f"/api/runs/{self.run_id}"

        def emit_points() -> None:
            if builder.points:
                if self.rank:  # another rank's values: the batch says whose (absent: rank 0, the default series)
                    doc = {"stream": self.stream, "blocks": builder.take(), "rank": self.rank}
                    body = json.dumps(doc, separators=(",", ":"))
                else:
                    body = encode_blocks(self.stream, builder.take())
                lines.append(encode("POST", f"{base}/metrics", body.encode()))

        records: list[dict[str, Any]] = []

        def emit_records() -> None:
            if records:
                body = json.dumps({"stream": self.stream, "lines": records}, separators=(",", ":")).encode()
                lines.append(encode("POST", f"{base}/logs/batch", body))
                records.clear()

        pending_source: str | None = None
        pending_time = 0.0
        pending_data: list[bytes] = []

        def emit_output() -> None:
            nonlocal pending_source
            if pending_source is not None:
                self._seq += 1
                data = base64.b64encode(b"".join(pending_data)).decode()
                chunk = {"seq": self._seq, "source": pending_source, "time": pending_time, "data": data}
                if self.rank is not None:
                    chunk["rank"] = self.rank
                chunks.append(chunk)
                pending_source = None
                pending_data.clear()

        def emit_chunks() -> None:
            nonlocal chunk_bytes
            emit_output()
            if chunks:
                body = json.dumps({"stream": self.stream, "chunks": chunks}, separators=(",", ":")).encode()
                lines.append(encode("POST", f"{base}/logs/raw", body))
                chunks.clear()
                chunk_bytes = 0

        while True:
            try:
                item = q.popleft()
            except IndexError:
                break
            kind = item[0]
            if kind != "r" and records:
                emit_records()
            if kind == "m":
                if chunks or pending_source is not None:
                    emit_chunks()
                self._seq += 1
                builder.add(self._seq, item[1], item[2], item[3])
                if builder.points >= MAX_POINTS_PER_OP:
                    emit_points()
            elif kind == "l":
                emit_points()
                if len(item) > 4:
                    emit_output()
                    self._seq += 1
                data: bytes = item[2]
                if len(item) == 4 and data and pending_source == item[1]:
                    pending_data.append(data)  # consecutive output of one source: one chunk, one seq
                else:
                    emit_output()
                    if len(item) > 4:  # terminal_size(): a chunk of its own, before the next output byte
                        sized = {"seq": self._seq, "source": item[1], "time": item[3], "data": "", "size": item[4]}
                        if self.rank is not None:
                            sized["rank"] = self.rank
                        chunks.append(sized)
                    else:
                        pending_source, pending_time, pending_data = item[1], item[3], [data]
                chunk_bytes += len(data)
                if chunk_bytes >= MAX_LOG_BYTES_PER_OP:
                    emit_chunks()
            elif kind == "r":
                emit_points()
                emit_chunks()
                self._seq += 1
                records.append(
                    {
                        "seq": self._seq,
                        "timestamp": item[1],
                        "level": item[2],
                        "logger": None if item[3] is None else safe_line(item[3]),
                        "message": safe_line(item[4]),
                        "source": "sdk",
                    }
                )
            elif kind == "o":
                emit_points()
                emit_chunks()
                emit_records()
                lines.append(encode(item[1], item[2], item[3]))
            else:  # flush marker
                emit_points()
                emit_chunks()
                emit_records()
                flushes.append(item[1])
        emit_points()
        emit_chunks()
        emit_records()
        end = self.journal.append(lines)
        return [(end, ev) for ev in flushes]

    # ---- the sender thread ----
    def _run_sender(self) -> None:
        while not self._stop:
            self._send_wake.wait(min(1.0, self.heartbeat_interval))
            self._send_wake.clear()
            try:
                self._send()
                self._resolve_waiters()
                self._heartbeat()
                if self.journal.done and not self._stop:
                    self._upload_leftovers()
            except Exception as exc:  # never let the thread die: training must go on
                self._warn(f"internal error in the upload thread (data stays spooled): {exc!r}")
                time.sleep(1.0)
        if not self._thread.is_alive():  # stopped by close(), which may have gone on without us
            self._release()

    def _send(self) -> None:
        if self.journal.done or time.monotonic() < self._retry_at:
            return
        failed = self._replayer.run(should_stop=self._resolve_waiters_false)
        if failed is not None:
            self._failed(failed)
        elif not self.journal.done:
            self._send_wake.set()

    def _resolve_waiters_false(self) -> bool:
        self._resolve_waiters()
        return False

    def _upload_leftovers(self) -> None:
        """Journals an earlier process left behind for this server: uploaded while ours is idle (as
        ``sync`` would). Live data goes first: the replay yields between requests as soon as our own
        journal has something to send, and goes on from there the next time ours is idle."""
        while self._leftovers and not self._stop and time.monotonic() >= self._retry_at:
            if self._leftover is None:
                path = self._leftovers[0]
                try:
                    journal = Journal(path)
                except OSError:  # gone, or locked by a live process that uploads it itself
                    self._leftovers.pop(0)
                    continue
                if not self._announced_leftovers:
                    self._announced_leftovers = True
                    left = journal.size - journal.acked + sum(_size(p) for p in self._leftovers[1:])
                    self._warn(
                        f"uploading about {left} bytes that earlier runs left in {path.parent.parent} for "
                        f"{self.transport.base_url} (as `trainboard sync` would)"
                    )
                if journal.torn:
                    self._warn(f"dropped a torn last entry ({journal.torn} bytes) of {path}: its writer was killed")
                self._leftover = (journal, Replayer(journal, self.transport, on_sent=self._sent, on_dead=self._dead))
            journal, replayer = self._leftover
            failed = replayer.run(should_stop=self._live_waiting)
            if failed is not None:
                self._failed(failed)
                return
            if not journal.done:  # yielded to live data (or the process is ending)
                if self._stop:
                    journal.close()  # releases its lock: the next start or `trainboard sync` goes on
                    self._leftover = None
                self._send_wake.set()
                return
            journal.close()
            self._leftover = None
            self._leftovers.pop(0)
        if not self._leftovers:
            self._leftovers_done.set()

    def _live_waiting(self) -> bool:
        """A leftover replay stops between requests when the process ends or our own journal has data."""
        return self._stop or self.journal.size > self.journal.acked

    def _sent(self, record: Record, reply: Reply) -> None:
        self._came_back()

    def _sent_own(self, record: Record, reply: Reply) -> None:
        """A record of this run's journal was acknowledged: also counts what an outage delivered late."""
        self._came_back()
        outage = self._outage
        if outage is None or outage.until is None:
            return
        if record.end >= outage.backlog_end:
            self._outage = None
            self._report_outage(outage)

    def _report_outage(self, outage: Outage) -> None:
        """The server could not be reached for a while: said on stderr, and recorded as an event of the run
        (``POST /api/runs/{id}/events``, kind ``server_unreachable``) so that whoever looks at it knows."""
        until = outage.until or time.time()
        late = outage.backlog_end - outage.acked_at
        outage.records = _lines_between(self.journal.path, outage.acked_at, outage.backlog_end)
        span = f"{_clock(outage.since)}–{_clock(until)}"
        message = (
            f"server unreachable {span} ({until - outage.since:.0f} s); {outage.records:,} records "
            f"({late:,} bytes) delivered late"
        )
        self._warn(message)
        self.op(
            "POST",
            f"/api/runs/{self.run_id}/events",
            {
                "id": outage.id,
                "kind": "server_unreachable",
                "message": message,
                "since": outage.since,
                "until": until,
                "records": outage.records,
                "bytes": late,
            },
        )

    def _report_unfinished_outage(self, outage: Outage) -> None:
        """The process ends while the server is unreachable (or before what it delayed was delivered): the
        report goes into the journal behind that data, so the next start or ``trainboard sync`` posts it once
        the data is uploaded, and whoever looks at the run knows why its end came late."""
        ended = time.time()
        pending = self.journal.size - outage.acked_at
        if outage.until is None:
            message = (
                f"server unreachable from {_clock(outage.since)} until the process ended at {_clock(ended)} "
                f"({ended - outage.since:.0f} s); {pending:,} bytes were kept on the client and uploaded later "
                "(by the next start or `trainboard sync`)"
            )
        else:
            message = (
                f"server unreachable {_clock(outage.since)}–{_clock(outage.until)} "
                f"({outage.until - outage.since:.0f} s); the process ended at {_clock(ended)} before the "
                f"{pending:,} bytes it delayed were delivered (uploaded later by the next start or `trainboard sync`)"
            )
        self._warn(message)
        records = _lines_between(self.journal.path, outage.acked_at, self.journal.size)
        body = {
            "id": outage.id,
            "kind": "server_unreachable",
            "message": message,
            "since": outage.since,
            "until": outage.until or ended,
            "records": records,
            "bytes": pending,
        }
        self.op("POST", f"/api/runs/{self.run_id}/events", body)

    def _dead(self, record: Record, reason: str) -> None:
        key = (None, record.path.rsplit("/", 1)[-1])
        if key not in self._warned_rejected:
            self._warned_rejected.add(key)
            self._warn(
                f"the server did not take {record.method} {record.path} ({reason[:300]}); it is kept in "
                f"{self._replayer.dead_file.parent} — `trainboard sync --retry-dead-letters` sends it again"
            )
            own = record.path.startswith(f"/api/runs/{self.run_id}/")
            if own and not record.path.endswith("/logs/batch"):  # the server should know: a line of the run
                self.log_record(
                    time.time(),
                    "WARNING",
                    "trainboard",
                    f"the server did not take {record.method} {record.path} ({reason[:300]}); kept on the client "
                    "as a dead letter (`trainboard sync --retry-dead-letters` sends it again)",
                )

    def _failed(self, reply: Reply) -> None:
        if reply.outcome is Outcome.DENIED:
            self._denied(reply)
        else:
            if reply.status is None and self._outage is None:  # no answer at all: the server is unreachable
                self._outage = Outage(since=time.time(), acked_at=self.journal.acked)
            self._went_down(reply.detail if reply.status is None else f"HTTP {reply.status}")

    def _denied(self, reply: Reply) -> None:
        """401/403: warned once; the data stays in the journal (not a dead letter) for ``trainboard sync``."""
        self.connected = False
        if not self._warned_denied:
            self._warned_denied = True
            self._warn(
                f"{self.transport.denied_message(reply)}; training continues, data is kept in "
                f"{self.journal.path.parent} — `trainboard sync --token TOKEN` uploads it"
            )
        self._retry_at = time.monotonic() + self._backoff
        self._backoff = min(self._backoff * 2, BACKOFF_MAX)

    def _went_down(self, detail: str) -> None:
        self.connected = False
        if not self._warned_down:
            self._warned_down = True
            self._warn(
                f"cannot reach {self.transport.base_url} ({detail}); training continues, data is "
                f"spooled in {self.journal.path.parent} and retried"
            )
        self._retry_at = time.monotonic() + self._backoff
        self._backoff = min(self._backoff * 2, BACKOFF_MAX)

    def _came_back(self) -> None:
        self._warned_denied = False
        if self.connected is False and self._warned_down:
            self._warn(f"reconnected to {self.transport.base_url}; uploading spooled data")
            self._warned_down = False
        self.connected = True
        self._backoff = BACKOFF_START
        if self._outage is not None and self._outage.until is None:
            self._outage.until = time.time()
            self._outage.backlog_end = self.journal.size  # all written while it was away: delivered late

    def stop_heartbeats(self) -> None:
        """No more heartbeats: the run is ending (a late one must not look like a live process)."""
        self.heartbeat_interval = math.inf

    def _heartbeat(self) -> None:
        now = time.monotonic()
        if self.connected and self.journal.done and now - self._last_heartbeat >= self.heartbeat_interval:
            self._last_heartbeat = now
            self.transport.send("POST", f"/api/runs/{self.run_id}/heartbeat")


@dataclass
class Outage:
    """A period without any answer from the server, and what it delayed (reported once it is delivered)."""

    since: float
    acked_at: int  # the journal's acknowledged offset when the server went away
    until: float | None = None
    backlog_end: int = 0  # the journal's end when it came back
    records: int = 0  # counted in the journal when it is reported
    id: str = field(default_factory=lambda: secrets.token_hex(8))


def _lines_between(path: Path, start: int, end: int) -> int:
    """Journal records (lines) from byte ``start`` to ``end`` of ``path``."""
    count = 0
    try:
        with open(path, "rb") as fh:
            fh.seek(start)
            left = end - start
            while left > 0:
                block = fh.read(min(left, 1 << 20))
                if not block:
                    break
                count += block.count(b"\n")
                left -= len(block)
    except OSError:
        return 0
    return count


def _clock(epoch: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(epoch))


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
