"""A rank's part in a shared run: its rank record (``PUT /api/runs/{id}/ranks/{rank}``) and, for whoever sets the
run's final status, the reason naming the first rank that failed.

Registration and the rank's end go through the SDK's queue like every other write (spooled, retried, never raised
into training). The first failure is read back from the server (``first_failure`` of ``GET .../ranks``: the
earliest ``ended_at`` with a non-zero exit code, over every node), or, when the server cannot say, from what this
node saw (the records its rank wrappers left in ``$TRAINBOARD_RANK_DIR``).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from trainboard.sdk.rank_errors import ERROR_MAX
from trainboard.sdk.ranks import RankInfo

__all__ = ["ENV_RANK_DIR", "RankMember", "first_failure_reason", "local_records", "reason_of"]

#: Folder (set by ``trainboard run``) where each rank wrapper of this node writes ``rank-N.json``.
ENV_RANK_DIR = "TRAINBOARD_RANK_DIR"
#: Set by ``trainboard run`` for the ranks: the run's name and project (a rank may create the run first).
ENV_RUN_NAME = "TRAINBOARD_RUN_NAME"
ENV_PROJECT = "TRAINBOARD_PROJECT"
#: ``0``: the rank wrappers do not turn what the ranks print into metrics (``trainboard run --no-parse-metrics``).
ENV_PARSE = "TRAINBOARD_RANK_PARSE"

_Op = Callable[[str, str, dict[str, Any]], None]


class RankMember:
    """Registers ``info`` as a rank of ``run_id`` and reports its end, through ``op`` (the pipeline's)."""

    def __init__(self, info: RankInfo, run_id: str, op: _Op) -> None:
        self.info = info
        self.path = f"/api/runs/{run_id}/ranks/{info.rank}"
        self._op = op

    def register(self) -> None:
        self._op("PUT", self.path, self.info.record())

    def ended(self, exit_code: int, error: str | None, ended_at: float | None = None) -> dict[str, Any]:
        """Record how this rank ended; returns the fields sent."""
        body: dict[str, Any] = {"exit_code": exit_code, "ended_at": time.time() if ended_at is None else ended_at}
        if error:
            body["error"] = error[:ERROR_MAX]
        self._op("PUT", self.path, body)
        return body


def reason_of(failure: dict[str, Any]) -> str:
    """``rank 2 (node n1) failed first: ValueError: boom`` from a ``first_failure`` (or a local record)."""
    node = failure.get("node")
    where = f" (node {node})" if node else ""
    error = failure.get("error")
    if not error:
        code = failure.get("exit_code")
        error = f"exit code {code}" if code is not None else "no error recorded"
    return f"rank {failure.get('rank')}{where} failed first: {error}"


def local_records(folder: str | os.PathLike[str] | None) -> list[dict[str, Any]]:
    """The rank records this node's wrappers wrote (``rank-N.json``), unreadable ones skipped."""
    if not folder:
        return []
    out: list[dict[str, Any]] = []
    try:
        entries = sorted(Path(folder).glob("rank-*.json"))
    except OSError:
        return []
    for entry in entries:
        try:
            record = json.loads(entry.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(record, dict) and isinstance(record.get("rank"), int):
            out.append(record)
    return out


def write_local(folder: str | None, record: dict[str, Any]) -> None:
    """Write (atomically) this rank's record for the node's wrapper; nowhere without ``$TRAINBOARD_RANK_DIR``."""
    if not folder:
        return
    target = Path(folder) / f"rank-{record['rank']}.json"
    tmp = target.with_suffix(f".{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(record))
        os.replace(tmp, target)
    except OSError:
        pass


def first_local_failure(records: list[dict[str, Any]]) -> dict[str, Any] | None:
    failed = [r for r in records if r.get("exit_code") not in (None, 0) and isinstance(r.get("ended_at"), int | float)]
    return min(failed, key=lambda r: (r["ended_at"], r["rank"])) if failed else None


def first_failure_reason(
    get_json: Callable[[str], Any], run_id: str, local: list[dict[str, Any]], *, wait: float = 5.0
) -> str | None:
    """The failure reason naming the first failing rank: the server's ``first_failure`` (asked again for up to
    ``wait`` seconds while other nodes' records may still be on their way), else this node's own records."""
    deadline = time.monotonic() + wait
    while True:
        try:
            doc = get_json(f"/api/runs/{run_id}/ranks")
        except Exception:  # an unreachable server: what this node saw is the answer
            doc = None
        failure = doc.get("first_failure") if isinstance(doc, dict) else None
        if isinstance(failure, dict) and failure.get("rank") is not None:
            return reason_of(failure)
        if not isinstance(doc, dict) or time.monotonic() >= deadline:
            break
        time.sleep(0.5)
    mine = first_local_failure(local)
    return reason_of(mine) if mine is not None else None
