"""The ``local`` provider: the job runs on the server's machine as its own process group.

The process is ``python -m trainboard.cli run --run-id ID --merge-stderr --no-mirror -- argv`` (this interpreter,
so no PATH lookup picks another ``trainboard``), started with ``start_new_session`` in the requested working
directory with a minimal environment: ``BASE_ENV`` names copied from the server's environment, then the spec's
(allowlisted) env and secrets, then trainboard's own. The server's other variables (database URLs, API keys)
never reach the job.

What the process writes itself (before ``trainboard run`` took over, or its own errors: a missing interpreter
module, an unreachable server) goes to ``<data>/launch/local/<job>.log``: the native log. Each job has a record
``<job>.json`` with its pid and the process's start time, so a restarted server finds a still-running job again
(same pid *and* start time: a recycled pid is not mistaken for it; the run gets a "found again" event).

The job's first process is :mod:`local_reaper`, the parent of ``trainboard run``: it writes the exit status to
``<job>/exit.json``, so a job that ended while no server was running still ends its run with its exit code
("ended while the server was down, exit 7") instead of an unknown one.

Each job has its own client data directory, ``<data>/launch/local/<job>/client`` (``TRAINBOARD_DATA``): what it
could not upload (the server was restarting, or unreachable) stays in that directory's journal, which no other
job sees (a shared spool had every later job retry it with a token scoped to its own run: 403s). Once the job has
ended, the launch service uploads what is left there itself (:meth:`LocalProvider.leftovers`, then
``journals.upload_leftovers``), with the URL the job used and a token scoped to its run.

When the server serves HTTPS the job gets ``TRAINBOARD_CA_BUNDLE`` naming the CA file the server was given
(``ProviderContext.ca_bundle``), so the client verifies the server without anything in the launch request.

With several server processes (``serve --workers N``) the job is the child of the process that deployed it, while
the launch watcher may run in another one: the deploying process waits for its child in a thread and writes the
exit status into the record (records change under a file lock, ``.records.lock``), and every process reads the
outcome from there. A job whose process is gone without an exit status is ``running`` while the process that
owns it still lives (it is about to write the status), ``lost`` otherwise.

``forget(job_id)`` removes an ended job's files (record, native log, its folder with the client data directory):
the launch service calls it when the run is deleted.

Cancel: SIGTERM to the job's process group (``trainboard run`` passes it on to the command's own group and ends
the run ``interrupted``), then, after ``cancel_grace`` seconds, SIGKILL to the group and to every process that
descended from the job at the time of the cancel.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import psutil

from trainboard.server.providers.base import (
    Capabilities,
    JobNotFound,
    JobSpec,
    JobState,
    JobStatus,
    ProviderContext,
    ProviderError,
    Reachability,
    SpecError,
    execution_env,
    wrapped_argv,
)
from trainboard.wire import ID_RE

__all__ = ["BASE_ENV", "LocalProvider", "create", "resolve_cwd"]

#: Names copied from the server's environment into every local job.
BASE_ENV = ("PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "SHELL")
#: How many bytes of the native log's end are searched for the failure message.
_TAIL = 4096
#: The job's first process (run by path: it needs nothing but the standard library).
REAPER = Path(__file__).with_name("local_reaper.py")


def resolve_cwd(cwd: str | None, root: Path | None) -> Path:
    """The job's working directory: ``cwd`` (relative to ``root``, or absolute), symlinks resolved, which must
    lie inside ``root`` and be a directory. ``None`` is ``root`` itself. Raises ``SpecError("cwd", ...)``."""
    if root is None:
        raise SpecError("cwd", "the server has no --launch-root: local launches need one")
    base = root.resolve()
    if cwd is not None and "\x00" in cwd:
        raise SpecError("cwd", "must not contain NUL")
    target = (base / cwd).resolve() if cwd else base
    if target != base and base not in target.parents:
        raise SpecError("cwd", f"must be inside the launch root {str(base)!r} (symlinks resolved)")
    if not target.is_dir():
        raise SpecError("cwd", f"{cwd!r} is not a directory inside the launch root")
    return target


def _start_time(pid: int) -> float | None:
    try:
        return float(psutil.Process(pid).create_time())
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return None


class LocalProvider:
    """Jobs as child process groups of the server (see the module docstring)."""

    name = "local"
    capabilities = Capabilities(gpus=False, cpus=False, memory=False, time_limit=False, image=False, cwd=True)

    def __init__(self, context: ProviderContext, *, python: str = sys.executable) -> None:
        self.context = context
        self.python = python
        self.dir = context.state_dir
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        self._lock = threading.Lock()
        #: This server process, as job records name their owner (pid and start time).
        self._me = {"pid": os.getpid(), "start_time": _start_time(os.getpid())}

    # ---- records ---------------------------------------------------------------------------------------------
    def _path(self, job_id: str, suffix: str) -> Path:
        if not ID_RE.match(job_id):
            raise JobNotFound(f"no local job {job_id!r}")
        return self.dir / f"{job_id}{suffix}"

    def job_dir(self, job_id: str) -> Path:
        """The job's own folder: ``client/`` (its ``TRAINBOARD_DATA``) and ``exit.json`` (see the module doc)."""
        return self._path(job_id, "")

    def client_dir(self, job_id: str) -> Path:
        return self.job_dir(job_id) / "client"

    def _exit_file(self, job_id: str) -> dict[str, Any] | None:
        """What the reaper wrote when the job ended; None while it runs (or for a job from before the reaper)."""
        try:
            data = json.loads((self.job_dir(job_id) / "exit.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) and isinstance(data.get("exit_code"), int) else None

    def _record(self, job_id: str) -> dict[str, Any]:
        try:
            data = json.loads(self._path(job_id, ".json").read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise JobNotFound(f"no local job {job_id!r}") from None
        except (OSError, ValueError) as exc:
            raise ProviderError(f"local job {job_id!r}: unreadable record ({exc})") from None
        if not isinstance(data, dict):
            raise ProviderError(f"local job {job_id!r}: unreadable record")
        return data

    def _save(self, job_id: str, record: Mapping[str, Any]) -> None:
        path = self._path(job_id, ".json")
        tmp = path.with_suffix(f".json.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(record), encoding="utf-8")
        os.replace(tmp, path)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Records are read, changed and written back under this lock (threads and server processes)."""
        self.dir.mkdir(parents=True, exist_ok=True)
        with self._lock, open(self.dir / ".records.lock", "a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _update(self, job_id: str, change: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        """Apply ``change`` to the job's record (saved when it returns True); the record as it is now."""
        with self._locked():
            record = self._record(job_id)
            if change(record):
                self._save(job_id, record)
            return record

    def _wait(self, job_id: str, proc: subprocess.Popen[bytes]) -> None:
        """In a thread of the deploying process: reap the job and write its exit status into the record."""
        code = proc.wait()

        def ended(record: dict[str, Any]) -> bool:
            if "exit_code" in record:
                return False
            record["exit_code"] = 128 - code if code < 0 else code
            record["signal"] = -code if code < 0 else None
            record["ended_at"] = time.time()
            return True

        with contextlib.suppress(JobNotFound, ProviderError, OSError):  # forgotten meanwhile
            self._update(job_id, ended)
        with self._lock:
            self._procs.pop(job_id, None)

    def _owner_alive(self, record: Mapping[str, Any]) -> bool:
        owner = record.get("owner")
        if not isinstance(owner, dict) or not owner.get("pid") or owner.get("start_time") is None:
            return False
        if owner == self._me:
            return True
        now = _start_time(int(owner["pid"]))
        return now is not None and abs(now - float(owner["start_time"])) < 0.01

    def validate(self, spec: JobSpec) -> None:
        """Refuse a working directory outside the launch root before anything is created (``SpecError``)."""
        resolve_cwd(spec.cwd, self.context.launch_root)

    # ---- the Protocol ----------------------------------------------------------------------------------------
    def deploy(self, spec: JobSpec, *, run_id: str, server_url: str, token: str | None) -> str:
        cwd = resolve_cwd(spec.cwd, self.context.launch_root)
        job_id = run_id
        wrapped = wrapped_argv(
            spec,
            run_id=run_id,
            server_url=server_url,
            client=(self.python, "-m", "trainboard.cli"),
            extra=("--merge-stderr", "--no-mirror"),
        )
        job_dir = self.job_dir(job_id)
        argv = [self.python, str(REAPER), str(job_dir / "exit.json"), "--", *wrapped]
        env = {k: os.environ[k] for k in BASE_ENV if k in os.environ}
        env.update(execution_env(spec, run_id=run_id, server_url=server_url, token=token))
        env.setdefault("PYTHONUNBUFFERED", "1")
        env["TRAINBOARD_DATA"] = str(self.client_dir(job_id))  # its own upload journal: no other job replays it
        if self.context.ca_bundle is not None:
            env["TRAINBOARD_CA_BUNDLE"] = str(self.context.ca_bundle)
        self.client_dir(job_id).mkdir(parents=True, exist_ok=True)
        log_path = self._path(job_id, ".log")
        with self._locked(), open(log_path, "ab") as log:
            try:
                proc = subprocess.Popen(
                    argv,
                    cwd=cwd,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    close_fds=True,
                )
            except OSError as exc:
                raise ProviderError(f"cannot start the local job: {exc.strerror or exc}") from None
            self._procs[job_id] = proc
            self._save(
                job_id,
                {
                    "pid": proc.pid,
                    "start_time": _start_time(proc.pid),
                    "cwd": str(cwd),
                    "deployed_at": time.time(),
                    "owner": self._me,
                },
            )
        threading.Thread(target=self._wait, args=(job_id, proc), name=f"local-job-{job_id}", daemon=True).start()
        return job_id

    def find(self, run_id: str) -> str | None:
        """The job deployed for ``run_id`` (its id is the run id), or None: no record was written."""
        try:
            self._record(run_id)
        except JobNotFound:
            return None
        return run_id

    def status(self, job_id: str) -> JobStatus:
        record = self._record(job_id)
        if "exit_code" in record:
            return self._ended(job_id, record)
        pid, started = int(record.get("pid") or 0), record.get("start_time")
        owned = self._owner_alive(record)
        if owned:  # its owner (maybe another server process) reaps it and writes the exit status
            return JobStatus(JobState.RUNNING, native="running", reason=f"pid {pid}")
        # Its owner is gone (the server restarted): the same pid with the same start time is still the job.
        now_started = _start_time(pid) if pid > 0 else None
        if now_started is not None and started is not None and abs(now_started - float(started)) < 0.01:
            return JobStatus(
                JobState.RUNNING,
                native="running",
                reason=f"pid {pid}: found again after a server restart, still running",
                announce=True,
            )
        ended = self._exit_file(job_id)
        if ended is not None:  # the reaper saw it end: the outcome is known even though no server was there
            return self._ended(job_id, {**record, **ended}, adopted=True)
        if record.get("cancel_requested_at") is not None:
            return JobStatus(JobState.CANCELLED, reason="cancelled", native="gone")
        return JobStatus(
            JobState.LOST,
            native="gone",
            reason="the job's process ended while the server was not watching it (server restart): exit status unknown",
        )

    def _ended(self, job_id: str, record: Mapping[str, Any], *, adopted: bool = False) -> JobStatus:
        """The outcome of an ended job; ``adopted``: read from the reaper's file by a server that is not the
        job's parent, which says whether the job ended before this server process started or while it watched."""
        code = int(record["exit_code"])
        sig = record.get("signal")
        cancelled = record.get("cancel_requested_at") is not None
        when = ""
        if adopted:
            me = self._me.get("start_time")
            down = me is not None and float(record.get("ended_at") or 0) < float(me)
            when = "ended while the server was down" if down else "ended after the server found it again"
        if cancelled:
            reason = f"cancelled ({when})" if when else "cancelled"
            return JobStatus(JobState.CANCELLED, exit_code=code, signal=sig, reason=reason, native="exited")
        if code == 0:
            done = f"{when}, exit 0" if when else None
            return JobStatus(JobState.COMPLETED, exit_code=0, reason=done, native="exited")
        if sig:
            reason = f"killed by {signal.Signals(sig).name}"
        else:
            reason = self._last_line(job_id) or f"exit code {code}"
        if when:
            reason = f"{when}, exit {code}" + (f" ({reason})" if sig else "")
        return JobStatus(JobState.FAILED, exit_code=code, signal=sig, reason=reason, native="exited")

    def _last_line(self, job_id: str) -> str | None:
        """The native log's last non-empty line (the process's own last words: ``cannot start 'x': ...``)."""
        try:
            with open(self._path(job_id, ".log"), "rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - _TAIL))
                tail = f.read()
        except OSError:
            return None
        lines = [ln.strip() for ln in tail.decode("utf-8", "replace").splitlines() if ln.strip()]
        return lines[-1][:500] if lines else None

    def cancel(self, job_id: str) -> None:
        record = self._record(job_id)
        if "exit_code" in record:
            return
        status = self.status(job_id)
        if status.state.finished:
            return

        def requested(record: dict[str, Any]) -> bool:
            if "exit_code" in record:  # it ended meanwhile: its outcome stands
                return False
            record.setdefault("cancel_requested_at", time.time())
            return True

        record = self._update(job_id, requested)
        if "exit_code" in record:
            return
        pid = int(record["pid"])
        try:
            descendants = psutil.Process(pid).children(recursive=True)
        except psutil.Error:
            descendants = []
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGTERM)
        timer = threading.Timer(self.context.cancel_grace, self._force, args=(job_id, pid, descendants))
        timer.daemon = True
        timer.start()

    def _force(self, job_id: str, pid: int, descendants: list[psutil.Process]) -> None:
        """After the grace period: SIGKILL whatever of the job is still alive."""
        with contextlib.suppress(JobNotFound, ProviderError):
            if self.status(job_id).state == JobState.RUNNING:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(pid, signal.SIGKILL)
        for proc in descendants:
            with contextlib.suppress(psutil.Error):
                if proc.is_running():  # same pid *and* start time: not a recycled pid
                    proc.kill()

    def logs(self, job_id: str, limit: int = 65536, offset: int = 0) -> bytes:
        path = self._path(job_id, ".log")
        try:
            with open(path, "rb") as f:
                f.seek(max(0, offset))
                return f.read(max(0, limit))
        except FileNotFoundError:
            raise JobNotFound(f"no local job {job_id!r}") from None

    def leftovers(self, job_id: str) -> Path | None:
        """The ended job's client data directory when its spool holds journals (what the job could not upload),
        else None. Asked by the launch service once the job is over; the server then uploads them (``journals``)."""
        client = self.client_dir(job_id)
        return client if any((client / "spool").glob("*/*.journal")) else None

    def forget(self, job_id: str) -> None:
        """Remove the job's files (record, native log, its folder); its run was deleted. A job that still
        runs is refused (``ProviderError``): the record is what cancels it."""
        if self.status(job_id).state == JobState.RUNNING:
            raise ProviderError(f"local job {job_id!r} still runs")
        with self._locked():
            for suffix in (".json", ".log"):
                self._path(job_id, suffix).unlink(missing_ok=True)
        shutil.rmtree(self.job_dir(job_id), ignore_errors=True)
        shutil.rmtree(self.dir / "client" / "spool" / job_id, ignore_errors=True)  # the shared spool of before

    def reachable(self) -> Reachability:
        root = self.context.launch_root
        if root is None:
            return Reachability(False, "no --launch-root: local launches need one")
        if not root.is_dir():
            return Reachability(False, f"the launch root {str(root)!r} is not a directory")
        return Reachability(True, f"this machine; working directories inside {str(root.resolve())!r}")


def create(config: Mapping[str, Any], context: ProviderContext) -> LocalProvider:
    """The registry's factory (``[providers.local]`` has no settings besides ``cancel_grace``)."""
    unknown = set(config) - {"cancel_grace"}
    if unknown:
        raise ValueError(f"[providers.local] has no setting {sorted(unknown)[0]!r}")
    return LocalProvider(context)
