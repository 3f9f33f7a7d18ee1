"""Put the per-rank wrapper between a launcher and the program it starts: what ``trainboard run`` does to
``torchrun ...``, ``python -m torch.distributed.run ...``, ``srun ...`` and ``accelerate launch ...`` so every rank's
terminal is recorded apart (``sdk/rank_exec``), whether or not the program uses the SDK.

Why a wrapper per rank rather than torchrun's own per-rank files (``--redirects 3 --log-dir``): the wrapper runs
in the rank's own environment, so it knows the *global* rank (torchrun's files are named by local rank; which
global ranks a node holds is decided at rendezvous), it works the same for every launcher (srun and mpirun have no
such files), the rank keeps a terminal (a pseudo-terminal: progress bars and colours as without trainboard), and it
sees the rank's exit and traceback the moment they happen, which is what names the first failing rank.

``torchrun [OPTS] script.py ARGS`` becomes ``torchrun [OPTS] --no-python PY -m trainboard.sdk.rank_exec -- PY -u
script.py ARGS`` (``-m mod``: ``PY -u -m mod``; ``--no-python cmd``: ``cmd``), so each rank runs exactly what
torchrun would have run, under the wrapper. A command line this cannot read is left alone (:func:`rewrite` returns
``None``; the run is then recorded as one stream, as before).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Rewritten", "rewrite"]

RANK_EXEC = "trainboard.sdk.rank_exec"

# torchrun's options that take no value (torch.distributed.run's parser; every other option takes one)
_TORCHRUN_FLAGS = frozenset(
    {"--standalone", "-m", "--module", "--no-python", "--no_python", "--run-path", "--run_path"}
    | {"--virtual-local-rank", "--virtual_local_rank", "-h", "--help"}
)
# srun's options that take no value (man srun); long options with an optional value take it only after "="
_SRUN_FLAGS = frozenset(
    {"-l", "--label", "-u", "--unbuffered", "-v", "--verbose", "-Q", "--quiet", "-X", "--disable-status", "-Z"}
    | {"--no-allocate", "-O", "--overcommit", "-E", "--preserve-env", "-s", "--oversubscribe", "-k", "--no-kill"}
    | {"-H", "--hold", "-K", "--kill-on-bad-exit", "--exclusive", "--pty", "--multi-prog", "--contiguous"}
    | {"--nice", "--test-only", "--spread-job", "--use-min-nodes", "--x11", "-I", "--immediate", "--mem-bind"}
)
_SRUN_OPTIONAL = frozenset({"--exclusive", "--nice", "--x11", "-K", "--kill-on-bad-exit", "-I", "--immediate"})


@dataclass(frozen=True, slots=True)
class Rewritten:
    """The command to run instead, the launcher it starts, and the job id every node's wrapper reads alike (the
    rendezvous id) or ``None``."""

    argv: list[str]
    launcher: str
    job_id: str | None


def rewrite(argv: Sequence[str], python: str | None = None) -> Rewritten | None:
    """``argv`` with the per-rank wrapper inserted, or ``None`` when it is not a launcher command this can read."""
    py = python or sys.executable
    argv = list(argv)
    if not argv:
        return None
    name = os.path.basename(argv[0])
    if name == "torchrun":
        return _torchrun(argv[:1], argv[1:], py)
    if name.startswith("python") and argv[1:3] in (["-m", "torch.distributed.run"],):
        return _torchrun(argv[:3], argv[3:], py)
    if name == "srun":
        return _srun(argv, py)
    if name == "accelerate" and argv[1:2] == ["launch"]:
        return _accelerate(argv[:2], argv[2:], py)
    if name == "accelerate-launch":
        return _accelerate(argv[:1], argv[1:], py)
    return None


def _split_options(args: list[str], flags: frozenset[str], optional: frozenset[str] = frozenset()) -> int | None:
    """Index of the first positional argument of ``args`` (options before it), or ``None`` if there is none."""
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            return i + 1 if i + 1 < len(args) else None
        if not arg.startswith("-") or arg == "-":
            return i
        if (
            (arg.startswith("--") and "=" in arg)
            or arg in flags
            or arg in optional
            or (not arg.startswith("--") and len(arg) > 2)
        ):
            i += 1
        else:
            i += 2
    return None


def _wrapped(py: str, child: list[str]) -> list[str]:
    return [py, "-m", RANK_EXEC, "--", *child]


def _torchrun(head: list[str], args: list[str], py: str) -> Rewritten | None:
    at = _split_options(args, _TORCHRUN_FLAGS)
    if at is None:
        return None
    opts = args[:at]
    if any(o in ("--run-path", "--run_path", "-h", "--help") for o in opts):
        return None
    kept, child = _script_child(args, at, py)
    job = _option_value(kept, ("--rdzv-id", "--rdzv_id"))  # left out: torchrun's "none", a fresh run id here
    job = None if job == "none" else job
    return Rewritten([*head, *kept, "--no-python", *_wrapped(py, child)], "torchrun", job)


def _script_child(args: list[str], at: int, py: str) -> tuple[list[str], list[str]]:
    """The launcher's options without those that say how to run the script (``-m``, ``--no-python``), and the
    command a rank runs: what torchrun and accelerate launch would have run themselves (``python -u``)."""
    opts, script, script_args = args[:at], args[at], args[at + 1 :]
    if opts and opts[-1] == "--":
        opts = opts[:-1]
    if any(o in ("--no-python", "--no_python") for o in opts):
        child = [script, *script_args]
    elif any(o in ("-m", "--module") for o in opts):
        child = [py, "-u", "-m", script, *script_args]
    else:
        child = [py, "-u", script, *script_args]
    kept = [o for o in opts if o not in ("-m", "--module", "--no-python", "--no_python")]
    return kept, child


def _option_value(opts: list[str], names: tuple[str, ...]) -> str | None:
    for i, opt in enumerate(opts):
        name, eq, value = opt.partition("=")
        if name in names:
            if eq:
                return value or None
            if i + 1 < len(opts):
                return opts[i + 1]
    return None


def _srun(argv: list[str], py: str) -> Rewritten | None:
    args = argv[1:]
    at = _split_options(args, _SRUN_FLAGS, _SRUN_OPTIONAL)
    if at is None:
        return None
    opts = args[:at]
    if any(o in ("--pty", "--multi-prog", "--test-only") for o in opts):
        return None  # an interactive shell or a per-task program table: left as it is
    return Rewritten([argv[0], *opts, *_wrapped(py, args[at:])], "slurm", None)


def _accelerate(head: list[str], args: list[str], py: str) -> Rewritten | None:
    flags = _accelerate_flags()
    if flags is None:
        return None
    at = _split_options(args, flags)
    if at is None:
        return None
    kept, child = _script_child(args, at, py)
    job = _option_value(kept, ("--rdzv_id", "--rdzv-id"))
    return Rewritten([*head, *kept, "--no_python", *_wrapped(py, child)], "accelerate", job)


def _accelerate_flags() -> frozenset[str] | None:
    """Options of ``accelerate launch`` that take no value, from its own parser (it has dozens, and they change
    between releases); ``None`` without accelerate."""
    try:
        from accelerate.commands.launch import launch_command_parser  # type: ignore[import-untyped]
    except ImportError:
        return None
    parser = launch_command_parser()
    out: set[str] = set()
    for action in parser._actions:
        if action.nargs == 0 or action.nargs == "?":
            out.update(action.option_strings)
    return frozenset(out)
