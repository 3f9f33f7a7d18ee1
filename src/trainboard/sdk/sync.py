"""``trainboard sync``: upload journals that processes left behind, and (on request) dead letters.

Always ends: a torn last line is cut when the journal is opened (``Journal.torn``), a request that the
server refuses or keeps failing on is moved to the dead-letter file (``replay``), and an unreachable
server stops the sync with everything still on disk. Dead letters are sent again only with
``retry_dead_letters`` (``--retry-dead-letters``): they failed for a reason, and the usual cause is
fixed by upgrading the server, not by trying again.

A journal is uploaded only to the server it belongs to (``spool``: its ``.server`` file): the journals of
another server are skipped and reported (``SyncReport.elsewhere``) unless the caller asks for them
(``to_any_server``: ``trainboard sync --to URL``). Journals without a recorded server (written by an older
SDK) go to the server an explicit sync is given, as they always did. ``upload_data_dir`` is the whole of it
for one client data directory (what a server calls for a finished launched job's leftovers).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from trainboard import paths
from trainboard.sdk import deadletter
from trainboard.sdk.replay import Replayer
from trainboard.sdk.spool import SUFFIX, Journal, Record, find_journals, same_server, server_of
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
    elsewhere: list[tuple[Path, str]] = field(default_factory=list)  # another server's journals, not sent
    unrecorded: int = 0  # journals without a recorded server left alone (``include_unrecorded=False``)


@dataclass(frozen=True)
class JournalInfo:
    """One journal as ``trainboard sync --list`` shows it."""

    path: Path
    run_id: str
    server: str | None  # None: written before the server was recorded
    pending: int  # bytes not yet acknowledged


def journals_under(root: Path) -> list[Path]:
    """One journal file, or every journal of a spool directory or of one run's folder."""
    if root.is_file():
        return [root] if root.name.endswith(SUFFIX) else []
    return list(find_journals(root)) or sorted(root.glob(f"*{SUFFIX}"))


def list_journals(root: Path) -> list[JournalInfo]:
    """The journals under ``root`` with something not yet uploaded, oldest first, with their servers."""
    out = []
    for path in journals_under(root):
        try:
            size = path.stat().st_size
            ack = path.with_suffix(".ack")
            acked = int(ack.read_text().strip() or 0) if ack.exists() else 0
        except (OSError, ValueError):
            size, acked = 1, 0
        if size > acked:
            out.append(JournalInfo(path, path.parent.name, server_of(path), size - acked))
    return out


def upload_data_dir(
    data_dir: str | os.PathLike[str],
    url: str,
    token: str | None = None,
    *,
    on_progress: Callable[[str, int], None] | None = None,
) -> SyncReport:
    """Upload every journal in the client data directory ``data_dir`` that belongs to the server ``url``
    (and those without a recorded server), with ``token``; other servers' journals stay (``elsewhere``)."""
    transport = Transport(paths.server_url(url), token=token)
    try:
        return sync(paths.spool_dir(Path(data_dir)), transport, on_progress=on_progress)
    finally:
        transport.close()


def sync(
    root: Path,
    transport: Transport,
    *,
    retry_dead_letters: bool = False,
    on_progress: Callable[[str, int], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    to_any_server: bool = False,
    include_unrecorded: bool = True,
) -> SyncReport:
    """Upload what lies under ``root`` that belongs to ``transport``'s server (every journal with
    ``to_any_server``; those without a recorded server unless ``include_unrecorded`` is False);
    ``on_progress(run_id, bytes)`` after each acknowledged request."""
    report = SyncReport()
    opened: list[Journal] = []
    for path in journals_under(root):
        recorded = server_of(path)
        if recorded is None and not include_unrecorded and not to_any_server:
            report.unrecorded += 1
            continue
        if recorded is not None and not to_any_server and not same_server(recorded, transport.base_url):
            report.elsewhere.append((path, recorded))
            continue
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
