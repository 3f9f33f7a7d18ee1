"""Send a journal's unacknowledged records in order (used by the live pipeline and ``trainboard sync``)."""

from __future__ import annotations

from collections.abc import Callable

from trainboard.sdk.spool import Journal, Record
from trainboard.sdk.transport import Outcome, Reply, Transport


def replay(
    journal: Journal,
    transport: Transport,
    *,
    on_sent: Callable[[Record, Reply], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> Reply | None:
    """Send until the journal is fully acknowledged; returns the failing reply when the server is
    unreachable (the record stays unacknowledged), else ``None``. A rejected record (4xx: the server
    will never take it) is acknowledged and reported through ``on_sent``."""
    while not journal.done:
        for record in journal.pending():
            reply = transport.send(record.method, record.path, record.body)
            if reply.outcome is Outcome.RETRY:
                return reply
            journal.ack(record.end)
            if on_sent is not None:
                on_sent(record, reply)
            if should_stop is not None and should_stop():
                return None
    return None
