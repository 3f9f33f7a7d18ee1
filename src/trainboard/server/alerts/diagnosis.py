"""Failure diagnosis: name why a run ended from the tail of its terminal output and its exit code.

Pure functions over text, so every signature is unit-tested on real-looking output. The result is one line a
person can act on ("CUDA out of memory: tried to allocate 2.00 GiB (train.py:88)") plus where it was seen (the
log line number, to link the terminal at that moment).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

#: Lines of the run's output looked at (the last ones).
TAIL_LINES = 400

_TRACEBACK = re.compile(r"^\s*Traceback \(most recent call last\):")
_FRAME = re.compile(r'^\s*File "(?P<file>[^"]+)", line (?P<line>\d+)(?:, in (?P<func>.+))?')
_EXCEPTION = re.compile(
    r"^(?P<type>[A-Za-z_][\w.]*(?:Error|Exception|Interrupt|Exit|Warning|Failure|Fault))(?::\s?(?P<msg>.*))?$"
)
_CUDA_OOM = re.compile(r"CUDA out of memory\.?\s*(?:Tried to allocate (?P<size>[\d.]+ [KMGT]i?B))?", re.I)
_NCCL = re.compile(
    r"(NCCL (?:error|WARN|timeout)|ncclInternalError|ncclSystemError|ncclUnhandledCudaError|ncclRemoteError"
    r"|Watchdog caught collective operation timeout|NCCL communicator was aborted|ProcessGroupNCCL.*[Tt]imeout)"
)
_CUDA_ERROR = re.compile(r"CUDA error: (?P<msg>[^\n]+)")
_KILLED = re.compile(r"^(?:.*:\s)?Killed\s*$|Out of memory: Kill(?:ed)? process|oom-kill|OOMKilled")
_DISK_FULL = re.compile(r"No space left on device|\[Errno 28\]|Disk quota exceeded|\[Errno 122\]")
_SLURM = re.compile(r"\*\*\* (?:JOB|STEP) [\w.]+ ON \S+ CANCELLED AT \S+(?: DUE TO (?P<why>[A-Z ]+?))? \*\*\*")
_NAN = re.compile(
    r"(loss (?:is|became|was) (?:nan|inf)|nan (?:loss|detected|encountered)|non-finite loss|"
    r"Detected (?:nan|inf)|FloatingPointError|found (?:nan|inf) in)",
    re.I,
)
_SIGTERM = re.compile(r"(received SIGTERM|Terminated$|signal 15|SIGTERM)")
_LIBRARY = re.compile(r"(site-packages|dist-packages|/lib/python\d|<frozen |<string>)")


@dataclass(frozen=True)
class Diagnosis:
    """Why a run failed, as far as its output and exit code tell."""

    kind: str  # cuda_oom | oom_killed | nccl | cuda_error | disk_full | missing_module | missing_file | nan |
    # slurm_time_limit | preempted | sigterm | exception | exit_code
    summary: str  # one line for the status reason and the alert
    line: int | None = None  # the log line (number) where the cause was seen
    exception: str | None = None  # the exception type, when a traceback named one
    location: str | None = None  # "train.py:88": the innermost frame of user code


@dataclass(frozen=True)
class _Traceback:
    exception: str
    message: str
    location: str | None
    line: int


def _location(frames: list[tuple[str, str]]) -> str | None:
    """The innermost frame of user code (not a library), else the innermost frame: ``file:line``."""
    if not frames:
        return None
    user = [f for f in frames if not _LIBRARY.search(f[0])]
    file, line = (user or frames)[-1]
    return f"{file.rsplit('/', 1)[-1]}:{line}"


def _last_traceback(lines: Sequence[tuple[int, str]]) -> _Traceback | None:
    """The last Python traceback: its exception (type, message), innermost user frame and line number."""
    start = None
    for i in range(len(lines) - 1, -1, -1):
        if _TRACEBACK.match(lines[i][1]):
            start = i
            break
    if start is None:
        return None
    frames: list[tuple[str, str]] = []
    for number, text in lines[start + 1 :]:
        frame = _FRAME.match(text)
        if frame:
            frames.append((frame["file"], frame["line"]))
            continue
        exc = _EXCEPTION.match(text.strip())
        if exc and not text.startswith((" ", "\t")):
            name = exc["type"].rsplit(".", 1)[-1]
            return _Traceback(name, (exc["msg"] or "").strip(), _location(frames), number)
    return None


def _with_location(summary: str, location: str | None, step: int | None) -> str:
    if step is not None:
        summary += f" at step {step:,}"
    if location:
        summary += f" ({location})"
    return summary


def _find(lines: Sequence[tuple[int, str]], pattern: re.Pattern[str]) -> tuple[int, re.Match[str]] | None:
    for number, text in reversed(lines):
        found = pattern.search(text)
        if found:
            return number, found
    return None


def diagnose(
    lines: Sequence[tuple[int, str]], *, exit_code: int | None = None, step: int | None = None
) -> Diagnosis | None:
    """The most specific cause found in ``lines`` (``(line number, text)``, oldest first) and ``exit_code``;
    ``step``: the run's last step, said in the summary. ``None`` when nothing explains the end."""
    lines = list(lines)[-TAIL_LINES:]
    tb = _last_traceback(lines)
    loc = tb.location if tb else None
    exc = tb.exception if tb else None
    if found := _find(lines, _CUDA_OOM):
        number, match = found
        size = f": tried to allocate {match['size']}" if match["size"] else ""
        return Diagnosis("cuda_oom", _with_location(f"CUDA out of memory{size}", loc, step), number, exc, loc)
    if found := _find(lines, _NCCL):
        number, match = found
        what = "NCCL timeout" if "imeout" in match[0] else "NCCL error"
        detail = f": {tb.message}" if tb and tb.message else f": {match[0]}"
        return Diagnosis("nccl", _with_location(what + detail[:200], loc, step), number, exc, loc)
    if found := _find(lines, _CUDA_ERROR):
        number, match = found
        return Diagnosis(
            "cuda_error", _with_location(f"CUDA error: {match['msg'].strip()}", loc, step), number, exc, loc
        )
    if found := _find(lines, _DISK_FULL):
        return Diagnosis(
            "disk_full", _with_location("Disk full: no space left on device", loc, step), found[0], exc, loc
        )
    if found := _find(lines, _SLURM):
        number, match = found
        why = (match["why"] or "").strip()
        if why == "TIME LIMIT":
            return Diagnosis("slurm_time_limit", _with_location("SLURM time limit reached", None, step), number)
        if why == "PREEMPTION":
            return Diagnosis("preempted", _with_location("Preempted by SLURM", None, step), number)
        return Diagnosis("sigterm", _with_location("Cancelled by SLURM", None, step), number)
    if tb and tb.exception in ("ModuleNotFoundError", "ImportError"):
        return Diagnosis(
            "missing_module", _with_location(f"{tb.exception}: {tb.message}", loc, step), tb.line, exc, loc
        )
    if tb and tb.exception == "FileNotFoundError":
        return Diagnosis(
            "missing_file", _with_location(f"FileNotFoundError: {tb.message}", loc, step), tb.line, exc, loc
        )
    if found := _find(lines, _NAN):
        detail = f"{tb.exception}: {tb.message}" if tb else found[1].string.strip()
        return Diagnosis("nan", _with_location(f"NaN guard: {detail[:200]}", loc, step), found[0], exc, loc)
    if tb:
        text = f"{tb.exception}: {tb.message}" if tb.message else tb.exception
        return Diagnosis("exception", _with_location(text[:300], loc, step), tb.line, exc, loc)
    killed = _find(lines, _KILLED)
    if killed or exit_code in (137, -9):
        summary = "Killed (SIGKILL"
        summary += ", exit 137)" if exit_code in (137, -9) else ")"
        summary += ": most likely the kernel's OOM killer (host memory)"
        return Diagnosis("oom_killed", _with_location(summary, None, step), killed[0] if killed else None)
    sigterm = _find(lines, _SIGTERM)
    if sigterm or exit_code in (143, -15):
        return Diagnosis(
            "sigterm",
            _with_location("Terminated (SIGTERM): stopped by a scheduler, preemption or a user", None, step),
            sigterm[0] if sigterm else None,
        )
    if exit_code not in (None, 0):
        return Diagnosis("exit_code", _with_location(f"Exited with code {exit_code}", None, step))
    return None


def first_failing_rank(first: dict[str, Any], found: Diagnosis | None) -> Diagnosis:
    """A distributed run's diagnosis: the rank that failed first (``store.ranks.first_failure``) and why, from
    that rank's own output (``found``) or else the error its record carries; the other ranks' errors (collective
    timeouts, the launcher's report) are consequences and never the cause."""
    where = f"rank {first['rank']}" + (f" (node {first['node']})" if first.get("node") else "")
    error = str(first["error"]) if first.get("error") else ""
    if found is not None and (found.kind not in ("exit_code", "sigterm") or not error):
        return Diagnosis(
            found.kind, f"{where} failed first: {found.summary}", found.line, found.exception, found.location
        )
    # only an exit code in what the rank printed (its traceback not final yet): the error its record carries
    return Diagnosis("exception" if error else "exit_code", f"{where} failed first" + (f": {error}" if error else ""))
