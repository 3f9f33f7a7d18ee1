"""``trainboard sync``: upload journals that processes left behind, and (on request) dead letters.

Always ends: a torn last line is cut when the journal is opened (``Journal.torn``), a request that the
server refuses or keeps failing on is moved to the dead-letter file (``replay``), and an unreachable
server stops the sync with everything still on disk. Dead letters are sent again only with
``retry_dead_letters`` (``--retry-dead-letters``): they failed for a reason, and the usual cause is
fixed by upgrading the server, not by trying again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from trainboard.sdk import deadletter
from trainboard.sdk.replay import Replayer
from trainboard.sdk.spool import SUFFIX, Journal, Record, find_journals
from trainboard.sdk.transport import Outcome, Reply, Transport

#: Pauses between attempts at a request answered with 5xx before it becomes a dead letter.
SERVER_ERROR_PAUSES = (0.5, 1.0, 2.0, 4.0)
#: "Busy" answers (408, 429) in a row after which a sync stops as if the server were unreachable.
MAX_BUSY_ANSWERS = 10


@dataclass
class SyncReport:
    journals: int = 0
    bytes: int = 0
    busy: int = 0  # journals still locked by a live process (it uploads them itself)
    torn: list[tuple[Path, int]] = field(default_factory=list)
    dead: list[str] = field(default_factory=list)  # requests moved aside during this sync
    dead_kept: int = 0  # dead letters on disk afterwards
    resent: int = 0  # dead letters the server took this time
    unreachable: Reply | None = None
    denied: Reply | None = None  # a 401/403 stopped the sync: everything is still on disk


def journals_under(root: Path) -> list[Path]:
    """One journal file, or every journal of a spool directory or of one run's folder."""
    if root.is_file():
        return [root] if root.name.endswith(SUFFIX) else []
    return list(find_journals(root)) or sorted(root.glob(f"*{SUFFIX}"))


def sync(
    root: Path,
    transport: Transport,
    *,
    retry_dead_letters: bool = False,
    on_progress: Callable[[str, int], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> SyncReport:
    """Upload what lies under ``root``; ``on_progress(run_id, bytes)`` after each acknowledged request."""
    report = SyncReport()
    opened: list[Journal] = []
    for path in journals_under(root):
        try:
            journal = Journal(path)
        except OSError:
            report.busy += 1
            continue
        if journal.torn:
            report.torn.append((path, journal.torn))
        opened.append(journal)
    report.journals = len(opened)
    report.bytes = sum(j.size - j.acked for j in opened)
    for i, journal in enumerate(opened):
        _upload(journal, transport, report, on_progress, sleep)
        journal.close()
        if report.unreachable is not None or report.denied is not None:
            for rest in opened[i + 1 :]:
                rest.close()
            break
    if retry_dead_letters and report.unreachable is None and report.denied is None:
        _retry_dead(root, transport, report)
    report.dead_kept = sum(len(deadletter.read(f)) for f in deadletter.find(root))
    return report


def _upload(
    journal: Journal,
    transport: Transport,
    report: SyncReport,
    on_progress: Callable[[str, int], None] | None,
    sleep: Callable[[float], None],
) -> None:
    run = journal.path.parent.name
    last = journal.acked

    def sent(record: Record, reply: Reply) -> None:
        nonlocal last
        if on_progress is not None:
            on_progress(run, record.end - last)
        last = record.end

    def dead(record: Record, reason: str) -> None:
        report.dead.append(f"{record.method} {record.path}: {reason[:300]}")

    replayer = Replayer(journal, transport, on_sent=sent, on_dead=dead)
    busy = 0
    while True:
        failed = replayer.run()
        if failed is None:
            return
        if failed.outcome is Outcome.DENIED:
            report.denied = failed
            return
        if failed.status is None or busy >= MAX_BUSY_ANSWERS:  # no answer, or busy for good: stop here
            report.unreachable = failed
            return
        if failed.status < 500:  # 408 / 429: busy; a 5xx is counted by the replayer (then moved aside)
            busy += 1
        sleep(SERVER_ERROR_PAUSES[min(busy, len(SERVER_ERROR_PAUSES) - 1)])


def _retry_dead(root: Path, transport: Transport, report: SyncReport) -> None:
    for file in deadletter.find(root):
        letters = deadletter.read(file)
        kept: list[deadletter.Letter] = []
        for n, letter in enumerate(letters):
            reply = transport.send(letter.method, letter.path, deadletter.resend_body(letter))
            if reply.outcome is Outcome.OK:
                report.resent += 1
                continue
            if reply.outcome is Outcome.DENIED:
                report.denied = reply
                kept.extend(letters[n:])
                break
            if reply.status is None:
                report.unreachable = reply
                kept.extend(letters[n:])
                break
            kept.append(
                deadletter.Letter(
                    letter.method, letter.path, letter.body, f"HTTP {reply.status}: {reply.detail}", letter.time
                )
            )
        deadletter.rewrite(file, kept)
        try:
            file.parent.rmdir()  # the run's folder, when nothing else is left in it
        except OSError:
            pass
        if report.unreachable is not None or report.denied is not None:
            return
