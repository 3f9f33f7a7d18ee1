"""Dead letters: requests the server will not take, kept on disk instead of retried forever.

A request the server refuses (4xx) or that keeps failing with a server error (5xx, ``MAX_SERVER_ERRORS``
times in a row: a poison batch) is moved out of the journal into ``<stream>.dead.jsonl`` beside it, one
JSON object per line with the reason, so the rest of the run uploads. Nothing is deleted:
``trainboard sync --retry-dead-letters`` sends them again (after a server upgrade, say) and keeps only
those still refused.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SUFFIX = ".dead.jsonl"

#: Consecutive 5xx answers to one request before it is moved aside.
MAX_SERVER_ERRORS = 5


@dataclass(frozen=True)
class Letter:
    method: str
    path: str
    body: bytes
    reason: str
    time: float


def path_for(journal_path: Path) -> Path:
    """The dead-letter file beside a journal."""
    return journal_path.with_name(journal_path.name.removesuffix(".journal") + SUFFIX)


def add(file: Path, method: str, path: str, body: bytes, reason: str) -> None:
    """Append one dead letter (flushed to the OS, like the journal)."""
    entry = {
        "time": time.time(),
        "method": method,
        "path": path,
        "reason": reason[:2000],
        "body": body.decode("utf-8", "surrogateescape"),
    }
    line = json.dumps(entry, ensure_ascii=True) + "\n"
    with open(file, "a", encoding="ascii") as fh:
        fh.write(line)


def resend_body(letter: Letter) -> bytes:
    """The body to send again. The server ignores items at or below the highest sequence number it
    has of a client stream, and later items of the stream went on without this letter; so a letter's
    items travel under a stream of their own, named after the letter (sending it twice stays a no-op)."""
    try:
        doc = json.loads(letter.body)
    except ValueError:
        return letter.body
    if not isinstance(doc, dict) or not isinstance(doc.get("stream"), str):
        return letter.body
    digest = hashlib.sha256(letter.body).hexdigest()[:16]
    doc["stream"] = f"{doc['stream'][:40]}-dl{digest}"
    return json.dumps(doc, separators=(",", ":")).encode()


def read(file: Path) -> list[Letter]:
    """The letters in one file; unreadable lines (a torn tail) are skipped."""
    letters = []
    with open(file, encoding="ascii", errors="replace") as fh:
        for line in fh:
            try:
                e = json.loads(line)
                letters.append(
                    Letter(e["method"], e["path"], e["body"].encode("utf-8", "surrogateescape"), e["reason"], e["time"])
                )
            except (ValueError, KeyError, TypeError, AttributeError):
                continue
    return letters


def rewrite(file: Path, letters: list[Letter]) -> None:
    """Replace the file's content with ``letters`` (removing it when none is left)."""
    if not letters:
        file.unlink(missing_ok=True)
        return
    tmp = file.with_name(file.name + ".tmp")
    with open(tmp, "w", encoding="ascii") as fh:
        for x in letters:
            entry = {
                "time": x.time,
                "method": x.method,
                "path": x.path,
                "reason": x.reason,
                "body": x.body.decode("utf-8", "surrogateescape"),
            }
            fh.write(json.dumps(entry, ensure_ascii=True) + "\n")
    os.replace(tmp, file)


def find(root: Path) -> Iterator[Path]:
    """Every dead-letter file under a spool root (or the one file / the files of one run folder)."""
    if root.is_file():
        return iter([root] if root.name.endswith(SUFFIX) else [])
    if not root.is_dir():
        return iter(())
    return iter(sorted({*root.glob(f"*/*{SUFFIX}"), *root.glob(f"*{SUFFIX}")}))
