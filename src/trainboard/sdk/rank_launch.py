"""The node's side of a ranked ``trainboard run -- torchrun|srun|accelerate launch ...``.

``trainboard run`` rewrites the launcher's command line (``sdk/launch_rewrite``) so each rank runs under the rank
wrapper (``sdk/rank_exec``), records the launcher's own output as the run's unranked stream, and at the end decides
who ends the run. The run's lifecycle belongs to the wrapper on whose node global rank 0 ran (its rank wrapper
leaves ``rank-0.json`` in this node's folder); a wrapper on another node records its launcher's output and leaves
the status alone. A wrapper on whose node no rank started at all (the launcher failed before) ends the run itself:
nobody else would. The failure reason names the first failing rank (``sdk/rank_member``).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from trainboard.sdk.launch_rewrite import Rewritten, rewrite
from trainboard.sdk.rank_errors import ERROR_MAX
from trainboard.sdk.rank_member import (
    ENV_PARSE,
    ENV_PROJECT,
    ENV_RANK_DIR,
    ENV_RUN_NAME,
    first_failure_reason,
    local_records,
)
from trainboard.sdk.rank_mirror import ENV_MIRROR, MirrorReader
from trainboard.sdk.ranks import derived_run_id

__all__ = ["RankedLaunch", "WholeLines", "plan"]

#: A launcher line longer than this is handed on unfinished (a launcher printing a progress bar without newlines).
_MAX_PENDING = 64 * 1024


class WholeLines:
    """The launcher's output handed on in whole lines: the wrappers of every node write the run's one unranked
    stream, and a line of one node's launcher must never be glued to a line of another's. What is left of an
    unfinished line goes out at ``close``."""

    def __init__(self, emit: Callable[[bytes, str], None]) -> None:
        self._emit = emit
        self._pending: dict[str, bytearray] = {}

    def feed(self, chunk: bytes, source: str = "stdout") -> None:
        buf = self._pending.setdefault(source, bytearray())
        buf += chunk
        cut = buf.rfind(b"\n") + 1 if len(buf) <= _MAX_PENDING else len(buf)
        if cut:
            self._emit(bytes(buf[:cut]), source)
            del buf[:cut]

    def close(self) -> None:
        for source, buf in self._pending.items():
            if buf:
                self._emit(bytes(buf), source)
                buf.clear()


class RankedLaunch:
    """This node's folder of rank records and the FIFO mirroring its ranks' output to this terminal."""

    def __init__(self, rewritten: Rewritten, *, mirror: bool) -> None:
        self.rewritten = rewritten
        self._dir = tempfile.TemporaryDirectory(prefix="trainboard-ranks-")
        self.folder = self._dir.name
        self._mirror: MirrorReader | None = None
        if mirror:
            try:
                self._mirror = MirrorReader(Path(self.folder) / "mirror")
            except OSError:
                self._mirror = None

    @property
    def argv(self) -> list[str]:
        return self.rewritten.argv

    def run_id(self) -> str | None:
        """The id every node's wrapper derives alike from the rendezvous id on the command line, if there is one."""
        job = self.rewritten.job_id
        return None if job is None else derived_run_id(self.rewritten.launcher, job)

    def child_env(self, env: dict[str, str], *, name: str, project: str, parse_metrics: bool) -> None:
        env[ENV_RANK_DIR] = self.folder
        env[ENV_PARSE] = "1" if parse_metrics else "0"
        env[ENV_RUN_NAME] = name
        env[ENV_PROJECT] = project
        if self._mirror is not None:
            env[ENV_MIRROR] = str(self._mirror.path)
        else:
            env.pop(ENV_MIRROR, None)

    def owns_run(self) -> bool:
        """Whether this wrapper sets the run's final status (see the module's docstring)."""
        records = local_records(self.folder)
        return not records or any(r["rank"] == 0 for r in records)

    def failure_reason(self, get_json: object, run_id: str) -> str | None:
        reason = first_failure_reason(get_json, run_id, local_records(self.folder))  # type: ignore[arg-type]
        return None if reason is None else reason[:ERROR_MAX]

    def close(self) -> None:
        if self._mirror is not None:
            self._mirror.close()
        self._dir.cleanup()


def plan(argv: list[str], *, mirror: bool) -> RankedLaunch | None:
    """A :class:`RankedLaunch` for a launcher command line, ``None`` for any other command (or when the per-rank
    wrapper cannot be inserted: $TRAINBOARD_RANKS=0 turns it off)."""
    if os.environ.get("TRAINBOARD_RANKS", "1") == "0":
        return None
    rewritten = rewrite(argv)
    return None if rewritten is None else RankedLaunch(rewritten, mirror=mirror)
