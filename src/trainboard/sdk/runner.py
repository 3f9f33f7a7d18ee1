"""Record a command as a run: what ``trainboard run -- CMD ...`` does.

The command runs under pseudo-terminals (``sdk/pty_runner.py``); every byte it prints is mirrored to this
process's terminal unchanged and handed to a :class:`~trainboard.sdk.monitor.TrainingMonitor`, which uploads
it with the command's exit status (and, optionally, system samples with the command's own memory). The
command's SDK, if it uses one, attaches to the same run through the environment and neither captures its
output nor samples the system again. Client side only: nothing here imports the server.
"""

from __future__ import annotations

import os
import signal
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trainboard import paths
from trainboard.sdk import credentials, notices, rank_launch
from trainboard.sdk.monitor import ENV_CAPTURED, ENV_RUN_ID, ENV_SYSTEM_SAMPLED, TrainingMonitor, new_run_id
from trainboard.sdk.pty_runner import PtyRunResult, run_under_pty
from trainboard.sdk.sdk_keys import ENV_SDK_KEYS

__all__ = ["CommandRun", "run_command"]


@dataclass(frozen=True, slots=True)
class CommandRun:
    """A finished recorded command: the run it was recorded as and how the command ended."""

    run_id: str
    status: str
    result: PtyRunResult

    @property
    def exit_code(self) -> int:
        return self.result.exit_code


def run_command(
    argv: Sequence[str],
    *,
    name: str | None = None,
    project: str | None = None,
    url: str | None = None,
    data_dir: Path | None = None,
    flush_timeout: float = 10.0,
    system_interval: float = 5.0,
    separate_stderr: bool = True,
    token: str | None = None,
    parse_metrics: bool = True,
    run_id: str | None = None,
    mirror: bool = True,
) -> CommandRun:
    """Run ``argv`` under a pseudo-terminal, mirror and record its output, and end the run with its status.

    ``system_interval`` > 0 samples the system every that many seconds (``sys/proc_rss`` is the command's
    memory); 0 turns sampling off. ``separate_stderr`` keeps stderr on its own pseudo-terminal; False merges
    both on one, in exact order. ``token`` as for ``TrainingMonitor`` (the command gets it as
    ``$TRAINBOARD_TOKEN`` for its own SDK). ``parse_metrics`` turns what the command prints, and the TensorBoard
    event files it writes under the working directory, into metrics (``sdk/parsed_metrics.py``).
    ``run_id`` attaches to a run created beforehand (a launched run, status ``queued``: it turns ``running``);
    by default a new run is made. ``mirror=False`` records without echoing (a launched job has no terminal).
    Raises ``OSError`` when the command cannot be started; the run is then recorded as failed with exit code 127
    (the reason, e.g. ``No such file or directory``, is in its events and in its stderr).
    SIGTERM or SIGHUP received by this process (a cancel) is passed to the command and ends the run
    ``interrupted``, as Ctrl-C does.
    """
    if not argv:
        raise ValueError("argv must not be empty")
    ranked = rank_launch.plan(list(argv), mirror=mirror)  # torchrun/srun/accelerate: a stream per rank
    try:
        return _run(
            argv,
            ranked,
            name=name,
            project=project,
            url=url,
            data_dir=data_dir,
            flush_timeout=flush_timeout,
            system_interval=system_interval,
            separate_stderr=separate_stderr,
            token=token,
            parse_metrics=parse_metrics,
            run_id=run_id,
            mirror=mirror,
        )
    finally:
        if ranked is not None:
            ranked.close()


def _run(
    argv: Sequence[str],
    ranked: rank_launch.RankedLaunch | None,
    *,
    name: str | None,
    project: str | None,
    url: str | None,
    data_dir: Path | None,
    flush_timeout: float,
    system_interval: float,
    separate_stderr: bool,
    token: str | None,
    parse_metrics: bool,
    run_id: str | None,
    mirror: bool,
) -> CommandRun:
    if ranked is not None and run_id is None:
        run_id = ranked.run_id()  # every node's wrapper derives the same id from the rendezvous id
    mon = TrainingMonitor(
        run_name=name or Path(argv[0]).name,
        config={"command": list(argv), "cwd": os.getcwd()},
        dashboard_url=url,
        project=project,
        run_id=run_id or new_run_id(),  # never attach to an outer run through $TRAINBOARD_RUN_ID
        capture_output=False,
        system_metrics=False,
        data_dir=data_dir,
        flush_timeout=flush_timeout,
        token=token,
    )
    env = dict(os.environ)
    env[ENV_RUN_ID] = mon.run_id
    env[ENV_CAPTURED] = "1"
    if system_interval > 0:
        env[ENV_SYSTEM_SAMPLED] = "1"  # sampled here, with the command's own memory: not again by its SDK
    env["TRAINBOARD_URL"] = mon.url
    child_token = credentials.resolve_token(mon.url, token)
    if child_token:  # the command's own SDK (attached to this run) reports with the same credentials
        env[credentials.ENV_TOKEN] = child_token
    if data_dir is not None:
        env["TRAINBOARD_DATA"] = str(paths.data_dir(data_dir))
    if ranked is not None:
        ranked.child_env(env, name=mon.run_name, project=mon.project, parse_metrics=parse_metrics)

    def sample(pid: int) -> None:
        mon.start_system_sampler(system_interval, pid)

    launcher_lines = None if ranked is None else rank_launch.WholeLines(mon.log_output)
    log = mon.log_output if launcher_lines is None else launcher_lines.feed
    on_output: Callable[[str, bytes], None] = lambda source, chunk: log(chunk, source)  # noqa: E731
    parsing = _start_parsing(mon, env) if parse_metrics else None
    if parsing is not None:
        parsed, follower, keys_dir = parsing

        def on_output(source: str, chunk: bytes) -> None:
            log(chunk, source)
            parsed.on_output(source, chunk)

    notice_fd = _notice_fd(env)
    try:
        result = run_under_pty(
            argv if ranked is None else ranked.argv,
            on_output=on_output,
            env=env,
            separate_stderr=separate_stderr,
            mirror=mirror,
            on_start=sample if system_interval > 0 else None,
            on_resize=mon.log_terminal_size,
            pass_fds=() if notice_fd is None else (notice_fd,),
        )
    except OSError as exc:
        why = f"cannot start {argv[0]!r}: {exc.strerror or exc}"
        mon.log_output(f"trainboard: {why}\r\n".encode(), "stderr")
        mon.set_status("failed", exit_code=127, reason=why)
        mon.finish()
        raise
    finally:
        if launcher_lines is not None:
            launcher_lines.close()
        if notice_fd is not None:
            os.close(notice_fd)
        if parsing is not None:
            if follower is not None:
                follower.close()
            parsed.close()
            keys_dir.cleanup()
    if result.interrupted or result.forwarded_signal in (signal.SIGTERM, signal.SIGHUP):
        status = "interrupted"
    else:
        status = "completed" if result.exit_code == 0 else "failed"
    reason = None
    if result.forwarded_signal is not None:
        reason = f"{signal.Signals(result.forwarded_signal).name} received by trainboard run"
    elif result.signal is not None:
        reason = f"killed by {signal.Signals(result.signal).name}"
    if ranked is not None and not ranked.owns_run():
        mon._owned_by_runner = True  # global rank 0 ran on another node: its wrapper ends the run
        mon.finish()
        return CommandRun(mon.run_id, status, result)
    if ranked is not None and status == "failed" and mon.flush():
        reason = ranked.failure_reason(mon._pipeline.transport.get_json, mon.run_id) or reason
    mon.set_status(status, exit_code=result.exit_code, reason=reason)
    mon.finish()
    return CommandRun(mon.run_id, status, result)


def _notice_fd(env: dict[str, str]) -> int | None:
    """A descriptor of this process's stderr for the command's SDK to write its notices to (named in ``env``):
    written on the command's own stderr, a pseudo-terminal, they would be recorded into the run."""
    try:
        fd = os.dup(2)
    except OSError:
        env.pop(notices.ENV_NOTICE_FD, None)
        return None
    env[notices.ENV_NOTICE_FD] = notices.describe_fd(fd)
    return fd


def _start_parsing(mon: TrainingMonitor, env: dict[str, str]) -> tuple[Any, Any, tempfile.TemporaryDirectory[str]]:
    """The parser of the command's output, the TensorBoard follower (None without ``tensorboard``) and the folder
    of the file where the command's SDK notes its keys (named to it in ``env``)."""
    from trainboard.sdk.parsed_metrics import MonitorSink, ParsedMetrics
    from trainboard.sdk.tb_follow import TensorBoardFollower, available

    keys_dir = tempfile.TemporaryDirectory(prefix="trainboard-keys-")
    keys = Path(keys_dir.name) / "sdk_keys"
    env[ENV_SDK_KEYS] = str(keys)
    parsed = ParsedMetrics(MonitorSink(mon), keys)
    follower = None
    if available():
        follower = TensorBoardFollower(Path.cwd(), parsed.add_at, since=time.time() - 1.0)
    return parsed, follower, keys_dir
