"""Send a journal's unacknowledged records in order (used by the live pipeline, by the next SDK start
for journals an earlier process left behind, and by ``trainboard sync``).

Nothing is retried forever: a record the server refuses (4xx) and one that keeps failing with a server
error (5xx, ``MAX_SERVER_ERRORS`` answers in a row) is moved to the dead-letter file beside the journal
and the replay goes on with the next one. Only an unreachable server (no HTTP answer at all) and a
401/403 (missing or too weak credentials) stop a replay: the journal keeps everything for later.
"""

from __future__ import annotations

from collections.abc import Callable

from trainboard.sdk import deadletter
from trainboard.sdk.spool import Journal, Record
from trainboard.sdk.transport import Outcome, Reply, Transport

#: Consecutive raw terminal-output records (``POST .../logs/raw``) go out as one request of up to about this
#: many body bytes: redraw-heavy output (a progress bar at ``mininterval=0``) writes a record per few hundred
#: bytes, and one request each made the upload far slower than the program. Every chunk keeps its own
#: sequence number, so the server's exactly-once rule is the same as for single records.
COALESCE_BYTES = 2 << 20
RAW_SUFFIX = "/logs/raw"
_CHUNKS_KEY = b',"chunks":['


def _raw_head(body: bytes) -> bytes | None:
    """``{"stream":"...","chunks":[`` of a raw-log body as the SDK writes it; None for any other shape."""
    at = body.find(_CHUNKS_KEY)
    if not body.startswith(b'{"stream":') or at < 0 or not body.endswith(b"]}"):
        return None
    return body[: at + len(_CHUNKS_KEY)]


def merge_raw(records: list[Record]) -> bytes:
    """One raw-log body holding the chunks of ``records`` in order (all of the same stream)."""
    head = _raw_head(records[0].body)
    assert head is not None
    inner = [r.body[len(head) : -2] for r in records]
    return head + b",".join(part for part in inner if part) + b"]}"


class Replayer:
    """Replays one journal; keeps the count of consecutive server errors of its first record."""

    def __init__(
        self,
        journal: Journal,
        transport: Transport,
        *,
        max_server_errors: int = deadletter.MAX_SERVER_ERRORS,
        on_sent: Callable[[Record, Reply], None] | None = None,
        on_dead: Callable[[Record, str], None] | None = None,
    ) -> None:
        self.journal = journal
        self.transport = transport
        self.max_server_errors = max_server_errors
        self.dead_file = deadletter.path_for(journal.path)
        self.dead = 0
        self._on_sent = on_sent
        self._on_dead = on_dead
        self._failing_at = -1  # end offset of the record that got the last 5xx
        self._failures = 0
        self._single_until = -1  # records up to this end offset go one per request (a batch failed)

    def run(self, should_stop: Callable[[], bool] | None = None) -> Reply | None:
        """Send until the journal is fully acknowledged (``None``), or return the reply that says to
        back off: the server is unreachable or answered 5xx (the record stays unacknowledged)."""
        journal = self.journal
        while not journal.done:
            records = journal.pending()
            if not records:
                return None  # nothing whole to send (a torn tail is cut at open): never spin
            i = 0
            while i < len(records):
                batch = self._batch(records, i)
                record = records[i + len(batch) - 1] if batch else records[i]
                if batch:
                    reply = self.transport.send(record.method, record.path, merge_raw(batch))
                    if reply.outcome is not Outcome.OK and reply.status is not None:
                        self._single_until = record.end  # find out which one it is: one at a time
                        continue
                else:
                    reply = self.transport.send(record.method, record.path, record.body)
                if reply.outcome is Outcome.DENIED:  # a token fixes it: keep the record, never a dead letter
                    return reply
                if reply.outcome is Outcome.RETRY:
                    if reply.status is None or reply.status < 500 or not self._gives_up(record):
                        return reply
                    self._move_aside(record, f"HTTP {reply.status} {self._failures} times: {reply.detail}")
                elif reply.outcome is Outcome.REJECTED:
                    self._move_aside(record, f"HTTP {reply.status}: {reply.detail}")
                journal.ack(record.end)
                i += max(1, len(batch))
                self._failing_at, self._failures = -1, 0
                if self._on_sent is not None:
                    self._on_sent(record, reply)
                if should_stop is not None and should_stop():
                    return None
        return None

    def _batch(self, records: list[Record], i: int) -> list[Record]:
        """Consecutive raw-log records from ``i`` to send as one request (two or more), else ``[]``."""
        first = records[i]
        if first.end <= self._single_until or first.method != "POST" or not first.path.endswith(RAW_SUFFIX):
            return []
        head = _raw_head(first.body)
        if head is None:
            return []
        batch, size = [first], len(first.body)
        for record in records[i + 1 :]:
            if record.path != first.path or record.method != "POST" or size + len(record.body) > COALESCE_BYTES:
                break
            if _raw_head(record.body) != head:
                break
            batch.append(record)
            size += len(record.body)
        return batch if len(batch) > 1 else []

    def _gives_up(self, record: Record) -> bool:
        if self._failing_at == record.end:
            self._failures += 1
        else:
            self._failing_at, self._failures = record.end, 1
        return self._failures >= self.max_server_errors

    def _move_aside(self, record: Record, reason: str) -> None:
        deadletter.add(self.dead_file, record.method, record.path, record.body, reason)
        self.dead += 1
        if self._on_dead is not None:
            self._on_dead(record, reason)


def replay(
    journal: Journal,
    transport: Transport,
    *,
    on_sent: Callable[[Record, Reply], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> Reply | None:
    """One-shot ``Replayer(journal, transport, on_sent=on_sent).run(should_stop)``."""
    return Replayer(journal, transport, on_sent=on_sent).run(should_stop)
