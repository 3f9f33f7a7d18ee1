"""The background uploader: what a run could not upload before its process ended goes on uploading after it.

When ``finish()`` (or ``trainboard run``) stops waiting — no upload progress for ``flush_timeout`` seconds, or
the documented upper bound — with part of the run's journal not yet acknowledged, the monitor hands that journal
to a process of its own (:func:`spawn`): ``python -m trainboard.sdk.uploader JOURNAL URL``, in a new session,
stdin closed, stdout and stderr to its log (``<data>/uploads/<run>.<stream>.log``), the token (if any) in its
environment, never on its command line. It outlives the training process and ends when the journal is uploaded.

It waits for the journal's lock (the ending process may still hold it for a moment), asks the server's
``/health`` before it touches the journal (so while the server is down it holds nothing a ``trainboard sync``
by hand would find busy), and retries with a backoff of 2, 4, 8 ... 60 s for up to ``MAX_LIFETIME_S``. A server
that refuses the token (401/403) ends it at once (the data stays for ``trainboard sync --token``). Whatever it
does not upload stays in the journal, as before, for ``trainboard sync`` and the next SDK start; each outcome is a
line of its log. ``<data>/uploads/<run>.<stream>.lock`` (an ``flock`` held for its life) makes sure there is
never more than one uploader per journal. ``TRAINBOARD_BACKGROUND_UPLOAD=0`` turns the hand-over off.

Stdlib and the SDK only (it runs where training runs).
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

#: Set to ``0`` to keep leftovers for ``trainboard sync`` / the next start instead of handing them over.
ENV_BACKGROUND_UPLOAD = "TRAINBOARD_BACKGROUND_UPLOAD"
#: How long an uploader keeps trying before it leaves the journal to ``trainboard sync`` (documented).
MAX_LIFETIME_S = 24 * 3600.0
BACKOFF_START_S = 2.0
BACKOFF_MAX_S = 60.0
#: How long it waits for the ending process to release the journal's lock.
LOCK_WAIT_S = 120.0


@dataclass(frozen=True)
class Handover:
    """An uploader started for a journal: its log."""

    log: Path


def enabled() -> bool:
    return os.environ.get(ENV_BACKGROUND_UPLOAD, "1").strip().lower() not in ("0", "false", "no", "off")


def files_for(journal: Path) -> tuple[Path, Path]:
    """``(log, lock)`` of the uploader of ``journal`` (``<data>/spool/<run>/<stream>.journal``)."""
    folder = journal.parent.parent.parent / "uploads"
    name = f"{journal.parent.name}.{journal.stem}"
    return folder / f"{name}.log", folder / f"{name}.lock"


def spawn(journal: Path, url: str, token: str | None) -> Handover | None:
    """Start the uploader of ``journal`` for the server ``url``; ``None`` when it cannot be started (or the
    hand-over is turned off): the caller then says the data stays for ``trainboard sync``."""
    if not enabled():
        return None
    log, _lock = files_for(journal)
    env = dict(os.environ)
    env.pop(ENV_BACKGROUND_UPLOAD, None)
    for name in ("TRAINBOARD_RUN_ID", "TRAINBOARD_CAPTURED", "TRAINBOARD_NOTICE_FD"):
        env.pop(name, None)  # it is nobody's child run
    # the trainboard this process runs, whatever made it importable here (an install, a source folder on sys.path)
    package_root = Path(__file__).resolve().parents[2]
    if package_root.name not in ("site-packages", "dist-packages"):  # installed: found as it is
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(package_root), env.get("PYTHONPATH")) if p)
    if token:
        env["TRAINBOARD_TOKEN"] = token
    else:
        env.pop("TRAINBOARD_TOKEN", None)
    try:
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "ab") as out:
            # a double fork: the short-lived middle process starts the uploader in a session of its own and
            # exits, so the uploader is nobody's child here (no zombie in a process that goes on running)
            subprocess.run(
                [
                    sys.executable,
                    "-S",
                    "-c",
                    _DETACH,
                    sys.executable,
                    "-m",
                    "trainboard.sdk.uploader",
                    str(journal),
                    url,
                ],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                cwd="/",
                close_fds=True,
                check=True,
                timeout=30,
            )
    except (OSError, subprocess.SubprocessError):
        return None
    return Handover(log)


#: The middle process of the double fork: start argv[1:] in a new session (not in the training job's process
#: group, so its end or a Ctrl-C there is not the uploader's) and exit at once.
_DETACH = "import subprocess, sys; subprocess.Popen(sys.argv[1:], start_new_session=True, close_fds=True)"


def _say(out: IO[str], message: str) -> None:
    out.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {message}\n")
    out.flush()


def upload(journal: Path, url: str, *, out: IO[str], max_lifetime: float = MAX_LIFETIME_S) -> int:
    """Upload ``journal`` to ``url`` until it is all acknowledged (0), refused (1) or ``max_lifetime`` passed (3);
    2 when another uploader already has it."""
    from trainboard.sdk.credentials import CredentialsError, resolve_token
    from trainboard.sdk.spool import Journal
    from trainboard.sdk.sync import sync
    from trainboard.sdk.transport import Outcome, Transport

    _log, lock_path = files_for(journal)
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    lock = open(lock_path, "a+")  # noqa: SIM115 - held (flock) for the uploader's life
    try:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        _say(out, f"another uploader already uploads {journal}; nothing to do")
        return 2
    lock.seek(0)
    lock.truncate()
    lock.write(f"{os.getpid()}\n")
    lock.flush()
    try:
        transport = Transport(url, token=resolve_token(url, None))
    except CredentialsError as exc:
        _say(out, f"cannot upload {journal}: {exc}")
        return 1
    _say(out, f"uploader {os.getpid()}: uploading {journal} to {url}")
    start = time.monotonic()
    backoff = BACKOFF_START_S
    said_down = False
    try:
        while time.monotonic() - start < max_lifetime:
            if not journal.exists():
                _say(out, f"done: {journal} is uploaded (or was synced by hand)")
                return 0
            if not _lock_free(journal, Journal, deadline=time.monotonic() + LOCK_WAIT_S):
                _say(out, f"{journal} is still in use by a live process after {LOCK_WAIT_S:g} s; it uploads it")
                return 0
            health = transport.send("GET", "/health")
            if health.outcome is Outcome.OK:
                report = sync(journal, transport)
                if report.denied is not None:
                    _say(out, f"{transport.denied_message(report.denied)}; left for `trainboard sync --token TOKEN`")
                    return 1
                if report.unreachable is None and report.busy == 0:
                    for line in report.dead:
                        _say(out, f"not taken by the server, kept as a dead letter: {line}")
                    _say(out, f"done: {report.bytes} bytes of {journal} uploaded to {url}")
                    return 0
                detail = report.unreachable.detail if report.unreachable is not None else "journal busy"
            else:
                detail = health.detail or f"HTTP {health.status}"
            if not said_down:
                said_down = True
                _say(out, f"cannot upload yet ({detail}); retrying every {BACKOFF_START_S:g}-{BACKOFF_MAX_S:g} s")
            time.sleep(backoff)
            backoff = min(backoff * 2, BACKOFF_MAX_S)
        _say(out, f"gave up after {max_lifetime:g} s; {journal} stays for `trainboard sync` or the next SDK start")
        return 3
    finally:
        transport.close()


def _lock_free(journal: Path, journal_class: type, *, deadline: float) -> bool:
    """Wait until nobody holds ``journal``'s lock (the process that wrote it has ended); False at ``deadline``."""
    while True:
        try:
            journal_class(journal).close(remove_if_done=True)
            return True
        except FileNotFoundError:
            return True
        except OSError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.2)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m trainboard.sdk.uploader JOURNAL URL", file=sys.stderr)
        return 2
    return upload(Path(args[0]), args[1], out=sys.stdout)


if __name__ == "__main__":
    sys.exit(main())
