"""The per-rank wrapper: ``python -m trainboard.sdk.rank_exec -- CMD [ARGS...]``, run by the launcher as each rank.

``trainboard run`` inserts it into ``torchrun`` / ``srun`` / ``accelerate launch`` command lines
(``sdk/launch_rewrite``); it can also be written by hand (``mpirun -np 8 python -m trainboard.sdk.rank_exec --
python train.py``). In the rank's own environment it:

- finds its rank (``sdk/ranks``) and the shared run (``$TRAINBOARD_RUN_ID`` from the wrapper, else derived from the
  launcher's job id), and registers the rank (node, local rank, GPUs, pid);
- runs CMD under a pseudo-terminal and records every byte as this rank's stream (chunks tagged ``rank``), and the
  metric reports it prints as this rank's metrics (``--no-parse-metrics`` in ``$TRAINBOARD_RANK_PARSE=0``);
- hands CMD's own SDK, if it uses one, the run id: it attaches, tags its metrics with the rank, does not capture
  output again and leaves the status alone;
- when CMD ends, records the rank's exit code, time and error (the last traceback's exception and where it was
  raised), writes the same to ``$TRAINBOARD_RANK_DIR`` for this node's ``trainboard run``, and exits as CMD did.

Without a world (a launcher starting one process, or none) it simply becomes CMD (``exec``).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

from trainboard.sdk import notices, ranks
from trainboard.sdk.monitor import ENV_CAPTURED, ENV_RUN_ID, ENV_SYSTEM_SAMPLED, TrainingMonitor
from trainboard.sdk.parsed_metrics import MonitorSink, ParsedMetrics
from trainboard.sdk.pty_runner import run_under_pty
from trainboard.sdk.rank_errors import TracebackTail
from trainboard.sdk.rank_member import (
    ENV_PARSE,
    ENV_PROJECT,
    ENV_RANK_DIR,
    ENV_RUN_NAME,
    first_failure_reason,
    write_local,
)
from trainboard.sdk.rank_mirror import ENV_MIRROR, open_writer
from trainboard.sdk.sdk_keys import ENV_SDK_KEYS
from trainboard.sdk.tee import write_all


def main(argv: list[str]) -> int:
    if argv[:1] == ["--"]:
        argv = argv[1:]
    if not argv:
        print("usage: python -m trainboard.sdk.rank_exec -- CMD [ARGS...]", file=sys.stderr)
        return 2
    info = ranks.detect()
    run_id = ranks.shared_run_id(info)
    if info is None or run_id is None:
        os.execvp(argv[0], argv)  # not a rank of a world > 1 (or no job id to agree on): CMD as it is
    assert info is not None and run_id is not None
    owner_here = not os.environ.get(ENV_RANK_DIR)  # no `trainboard run` on this node: rank 0 ends the run
    os.environ[ENV_RUN_ID] = run_id
    os.environ[ENV_CAPTURED] = "1"  # CMD's SDK attaches and leaves capture and status to this wrapper
    os.environ.setdefault(ENV_SYSTEM_SAMPLED, "1")
    os.environ.pop(ENV_SDK_KEYS, None)  # the node wrapper's: this rank's parser gets its own (below)
    mirror = open_writer(os.environ.get(ENV_MIRROR))
    notice_fd = _notice_channel(mirror)
    mon = TrainingMonitor(
        run_name=os.environ.get(ENV_RUN_NAME) or _program(argv),
        project=os.environ.get(ENV_PROJECT) or None,
        capture_output=False,
        system_metrics=False,
    )
    folder = os.environ.get(ENV_RANK_DIR)
    base = {"rank": info.rank, "node": info.node, "local_rank": info.local_rank, "pid": os.getpid()}
    write_local(folder, base)
    tail = TracebackTail()
    mirror_to: int | None = mirror if mirror is not None else 1
    keys_dir = tempfile.TemporaryDirectory(prefix="trainboard-rank-keys-")
    keys = Path(keys_dir.name) / "sdk_keys"
    os.environ[ENV_SDK_KEYS] = str(keys)  # CMD's SDK notes its keys: its output never overrides them
    parsed = ParsedMetrics(MonitorSink(mon), keys) if os.environ.get(ENV_PARSE, "1") != "0" else None

    def on_output(source: str, chunk: bytes) -> None:
        nonlocal mirror_to
        mon.log_output(chunk, "stdout")
        tail.feed(chunk)
        if parsed is not None:
            parsed.on_output("stdout", chunk)
        if mirror_to is not None and not write_all(mirror_to, chunk):
            mirror_to = None

    try:
        result = run_under_pty(
            argv,
            on_output=on_output,
            separate_stderr=False,
            mirror=False,
            on_resize=mon.log_terminal_size,
            pass_fds=() if notice_fd is None else (notice_fd,),
        )
    except OSError as exc:
        why = f"cannot start {argv[0]!r}: {exc.strerror or exc}"
        mon.log_output(f"trainboard: {why}\r\n".encode(), "stdout")
        _end(mon, info, folder, base, 127, why, owner_here)
        return 127
    finally:
        if parsed is not None:
            parsed.close()
        if mirror is not None:
            with contextlib.suppress(OSError):
                os.close(mirror)
        keys_dir.cleanup()
    ended_at = time.time()
    error = None
    if result.exit_code != 0:
        error = tail.exception()
        if error is None and result.signal is not None:
            error = f"killed by {signal.Signals(result.signal).name}"
    _end(mon, info, folder, base, result.exit_code, error, owner_here, ended_at=ended_at)
    if result.signal is not None:  # end as the rank did: the launcher reports a signal as a signal
        signal.signal(result.signal, signal.SIG_DFL)
        os.kill(os.getpid(), result.signal)
    return result.exit_code


def _notice_channel(mirror: int | None) -> int | None:
    """Where the SDK's notices (this wrapper's and CMD's) go: not the rank's pseudo-terminal, which would record them
    into the rank's stream, but the node wrapper's terminal (the mirror FIFO), else the launcher's stderr. Named in
    ``$TRAINBOARD_NOTICE_FD`` for this process and CMD (the launcher closed the one ``trainboard run`` passed)."""
    try:
        fd = os.dup(mirror if mirror is not None else 2)
    except OSError:
        os.environ.pop(notices.ENV_NOTICE_FD, None)
        return None
    os.environ[notices.ENV_NOTICE_FD] = notices.describe_fd(fd)
    return fd


def _program(argv: list[str]) -> str:
    """The run's name when a rank creates it: the script (``python -u train.py`` -> ``train.py``) or program."""
    if Path(argv[0]).name.startswith("python"):
        for arg in argv[1:]:
            if not arg.startswith("-"):
                return Path(arg).name
    return Path(argv[0]).name


def _end(
    mon: TrainingMonitor,
    info: ranks.RankInfo,
    folder: str | None,
    base: dict[str, object],
    exit_code: int,
    error: str | None,
    owner_here: bool,
    *,
    ended_at: float | None = None,
) -> None:
    """Record the rank's end (server and this node's folder); without a node wrapper, rank 0 sets the status."""
    assert mon._rank is not None
    sent = mon._rank.ended(exit_code, error, ended_at)
    write_local(folder, base | sent)
    if owner_here and info.owns_lifecycle:
        mon._owned_by_runner = False
        status = "completed" if exit_code == 0 else "failed"
        reason = None
        if status == "failed" and mon.flush():
            reason = first_failure_reason(mon._pipeline.transport.get_json, mon.run_id, [], wait=5.0)
        mon.set_status(status, exit_code, reason=reason or error)
        mon._owned_by_runner = True
    mon.finish()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
