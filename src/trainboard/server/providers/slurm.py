"""The ``slurm`` provider: a batch job through ``sbatch`` / ``scontrol`` / ``squeue`` / ``sacct`` / ``scancel``.

The batch script is generated, never templated from user text: one line runs the wrapped argv
(``trainboard run --run-id ID ... -- argv``) quoted word by word with :func:`shlex.join`, and records its exit code
in ``slurm-<job>.exit`` beside the output file. It reaches ``sbatch --parsable`` on standard input; resources
become ``--cpus-per-task``, ``--gres=gpu[:type]:N``, ``--mem``, ``--time``; the working directory ``--chdir``
(a path on the compute node). The job's environment is minimal, as for ``local``: ``BASE_ENV`` names and ``SLURM_*``
from the server's environment (none of its other variables: database URLs, cloud credentials), the provider's
``env`` table, the spec's env and ``TRAINBOARD_URL`` / ``TRAINBOARD_TOKEN``; it reaches the job through
``sbatch --export=ALL`` and SLURM keeps it with the job, readable by its owner and the administrators only.

Status: ``scontrol show job`` (the controller keeps a finished job for ``MinJobAge`` seconds), else ``sacct``
(when the cluster has accounting storage), else the exit code the script recorded itself. PENDING (and the other
waiting states) -> queued; the SLURM reason (``Resources``, ``Priority``) is shown beside it.

Cancel: SIGTERM to every process of the job (``scancel --full --signal=TERM``; a pending job is simply removed),
then, ``cancel_grace`` seconds later, ``scancel`` (SLURM's own SIGTERM then SIGKILL after ``KillWait``).

The native log is the job's output file, ``<output_dir>/slurm-<job>.out`` (stdout and stderr): what happened
before ``trainboard run`` took over, SLURM's own messages (``slurmstepd: error: ... CANCELLED``), and the
command's output, which ``trainboard run`` mirrors. On a multi-node cluster ``output_dir`` must be a filesystem
the compute nodes and the server share.

```toml
[providers.slurm]
partition = "gpu"                    # optional: --partition
account = "ml"                       # optional: --account
qos = "normal"                       # optional: --qos
extra_args = ["--constraint=a100"]   # optional: more sbatch options (never a shell string)
client = ["trainboard"]              # how the compute node calls trainboard
output_dir = "/shared/trainboard"    # where job output files go (default: <data>/launch/slurm)
slurm_conf = "/etc/slurm/slurm.conf" # optional: SLURM_CONF for the commands
timeout = 20                         # seconds per SLURM command
env = {TRAINBOARD_DATA = "/scratch/tb"} # optional: environment every job gets (set by the administrator)
```
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import shlex
import shutil
import subprocess
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from trainboard.server.providers.base import (
    DEFAULT_CLIENT,
    Capabilities,
    JobNotFound,
    JobSpec,
    JobState,
    JobStatus,
    ProviderContext,
    ProviderError,
    Reachability,
    SpecError,
    ca_shell,
    execution_env,
    wrapped_argv,
)

__all__ = ["BASE_ENV", "SlurmProvider", "batch_script", "create", "map_state", "sbatch_options"]

_JOB_ID = re.compile(r"^[0-9]+(?:_[0-9]+)?$")
#: SLURM job states -> trainboard's (``squeue --help`` / ``sacct --helpformat`` list them).
_WAITING = {"PENDING", "CONFIGURING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "RESV_DEL_HOLD", "POWER_UP_NODE"}
_ACTIVE = {"RUNNING", "COMPLETING", "SUSPENDED", "STAGE_OUT", "SIGNALING", "RESIZING", "STOPPED"}
_FAILED_REASONS = {
    "FAILED": None,
    "TIMEOUT": "time limit reached",
    "OUT_OF_MEMORY": "out of memory",
    "BOOT_FAIL": "the node failed to boot",
    "DEADLINE": "deadline reached",
    "PREEMPTED": "preempted",
    "SPECIAL_EXIT": "special exit",
}
#: Names copied from the server's environment into every job (and SLURM's own ``SLURM_*``, e.g. ``SLURM_CONF``).
BASE_ENV = ("PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "SHELL")


def map_state(native: str, *, exit_code: int | None, signal: int | None, reason: str | None = None) -> JobStatus:
    """A SLURM job state (``PENDING``, ``RUNNING``, ``COMPLETED``, ``CANCELLED by 0``, ...) as a :class:`JobStatus`.
    ``exit_code``/``signal`` are SLURM's ``ExitCode=N:S``; a signal is reported as 128 + S like a shell does."""
    word = native.split()[0].rstrip("+") if native.strip() else "UNKNOWN"
    if signal:
        exit_code = 128 + signal
    waiting_reason = reason if reason and reason not in ("None", "(null)") else None
    if word in _WAITING:
        return JobStatus(JobState.QUEUED, native=word, reason=waiting_reason and f"waiting: {waiting_reason}")
    if word in _ACTIVE:
        return JobStatus(JobState.RUNNING, native=word)
    if word == "COMPLETED":
        return JobStatus(JobState.COMPLETED, exit_code=exit_code or 0, native=word)
    if word == "CANCELLED":
        return JobStatus(JobState.CANCELLED, exit_code=exit_code, signal=signal, reason="cancelled", native=word)
    if word == "NODE_FAIL":
        return JobStatus(JobState.LOST, exit_code=exit_code, signal=signal, reason="node failure", native=word)
    if word in _FAILED_REASONS:
        why = _FAILED_REASONS[word] or (f"killed by signal {signal}" if signal else f"exit code {exit_code}")
        return JobStatus(JobState.FAILED, exit_code=exit_code, signal=signal, reason=why, native=word)
    return JobStatus(JobState.RUNNING, native=word, reason=f"unknown SLURM job state {word!r}")


def _exit_pair(text: str | None) -> tuple[int | None, int | None]:
    """SLURM's ``N:S`` (exit code, signal)."""
    if not text or ":" not in text:
        return None, None
    code, _, sig = text.partition(":")
    try:
        return int(code), (int(sig) or None)
    except ValueError:
        return None, None


def sbatch_options(
    spec: JobSpec,
    *,
    job_name: str,
    output: Path,
    partition: str | None = None,
    account: str | None = None,
    qos: str | None = None,
    extra: Sequence[str] = (),
    comment: str | None = None,
) -> list[str]:
    """The ``sbatch`` argv (no script: it goes on standard input)."""
    res = spec.resources
    opts = ["sbatch", "--parsable", f"--job-name={job_name}", f"--output={output}", "--export=ALL"]
    if partition:
        opts.append(f"--partition={partition}")
    if account:
        opts.append(f"--account={account}")
    if qos:
        opts.append(f"--qos={qos}")
    if comment:
        opts.append(f"--comment={comment}")
    if spec.cwd:
        opts.append(f"--chdir={spec.cwd}")
    if res.cpus is not None:
        opts.append(f"--cpus-per-task={max(1, math.ceil(res.cpus))}")
    if res.gpus:
        opts.append(f"--gres=gpu:{res.gpu_type}:{res.gpus}" if res.gpu_type else f"--gres=gpu:{res.gpus}")
    if res.memory_mb is not None:
        opts.append(f"--mem={res.memory_mb}M")
    if res.time_limit is not None:
        minutes = max(1, math.ceil(res.time_limit / 60))
        opts.append(f"--time={minutes}")
    opts.extend(extra)
    return opts


def batch_script(argv: Sequence[str], *, exit_file_stem: Path, run_id: str, ca: bool = False) -> str:
    """The batch script: the wrapped argv (every word quoted), waited for, and the exit code it recorded.

    The shell stays until the command has ended, passing SIGTERM/SIGINT on: when the batch shell ends SLURM kills
    what is left of the job, so a shell that died at the first SIGTERM would cut ``trainboard run`` off while it
    uploads the last output and the exit code. ``ca``: first write ``$TRAINBOARD_CA_PEM`` to a file for the
    client (:func:`ca_shell`)."""
    stem = shlex.quote(str(exit_file_stem))
    return "\n".join(
        [
            "#!/bin/sh",
            f"# trainboard run {run_id} (generated; the command is quoted word by word)",
            *([ca_shell()] if ca else []),
            'child=""',
            """trap 'kill -TERM "$child" 2>/dev/null' TERM""",
            """trap 'kill -INT "$child" 2>/dev/null' INT""",
            f"{shlex.join(argv)} &",
            "child=$!",
            'wait "$child"',
            "code=$?",
            'while kill -0 "$child" 2>/dev/null; do',
            '  wait "$child"',
            "  code=$?",
            "done",
            f'printf "%s\\n" "$code" > {stem}."$SLURM_JOB_ID".exit',
            'exit "$code"',
            "",
        ]
    )


def job_comment(run_id: str) -> str:
    """The job's ``--comment``: how ``find`` knows the job of a run (job names are not unique)."""
    return f"trainboard-run:{run_id}"


def _job_name(spec: JobSpec, run_id: str) -> str:
    base = re.sub(r"[^A-Za-z0-9_.-]+", "-", spec.name or "")[:64].strip("-")
    return f"trainboard-{base or run_id}"


class SlurmProvider:
    """Batch jobs on a SLURM cluster (see the module docstring)."""

    name = "slurm"
    capabilities = Capabilities(gpus=True, cpus=True, memory=True, time_limit=True, image=False, cwd=True)

    def __init__(
        self,
        context: ProviderContext,
        *,
        partition: str | None = None,
        account: str | None = None,
        qos: str | None = None,
        extra_args: Sequence[str] = (),
        client: Sequence[str] = DEFAULT_CLIENT,
        output_dir: Path | None = None,
        slurm_conf: str | None = None,
        timeout: float = 20.0,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.context = context
        self.partition, self.account, self.qos = partition, account, qos
        self.extra_args = tuple(extra_args)
        self.client_argv = tuple(client)
        self.output_dir = output_dir or context.state_dir
        self.slurm_conf = slurm_conf
        self.timeout = timeout
        self.job_env = dict(env or {})

    # ---- running SLURM's commands ------------------------------------------------------------------------
    def _env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k in BASE_ENV or k.startswith("SLURM_")}
        if self.slurm_conf:
            env["SLURM_CONF"] = self.slurm_conf
        if extra:
            env.update(extra)
        return env

    def _run(
        self, argv: Sequence[str], *, stdin: str | None = None, env: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        try:
            return subprocess.run(
                list(argv),
                input=stdin,
                capture_output=True,
                text=True,
                env=dict(env) if env is not None else self._env(),
                timeout=self.timeout,
                check=False,
            )
        except FileNotFoundError:
            raise ProviderError(
                f"{argv[0]} is not installed on the trainboard server (SLURM's client commands)"
            ) from None
        except subprocess.TimeoutExpired:
            raise ProviderError(f"{argv[0]} did not answer within {self.timeout:.0f} s") from None
        except OSError as exc:
            raise ProviderError(f"cannot run {argv[0]}: {exc.strerror or exc}") from None

    def _check_id(self, job_id: str) -> str:
        if not _JOB_ID.match(job_id):
            raise JobNotFound(f"no SLURM job {job_id!r}")
        return job_id

    def _output(self, job_id: str) -> Path:
        return self.output_dir / f"slurm-{job_id}.out"

    # ---- the Protocol ------------------------------------------------------------------------------------
    def deploy(self, spec: JobSpec, *, run_id: str, server_url: str, token: str | None) -> str:
        if spec.cwd is not None and ("\x00" in spec.cwd or "\n" in spec.cwd):
            raise SpecError("cwd", "must not contain NUL or newline characters")
        argv = wrapped_argv(spec, run_id=run_id, server_url=server_url, client=self.client_argv)
        self.output_dir.mkdir(parents=True, exist_ok=True)
        opts = sbatch_options(
            spec,
            job_name=_job_name(spec, run_id),
            output=self.output_dir / "slurm-%j.out",
            partition=self.partition,
            account=self.account,
            qos=self.qos,
            extra=self.extra_args,
            comment=job_comment(run_id),
        )
        ca_pem = self.context.ca_pem()
        job_env = self.job_env | execution_env(spec, run_id=run_id, server_url=server_url, token=token, ca_pem=ca_pem)
        job_env.setdefault("PYTHONUNBUFFERED", "1")
        script = batch_script(argv, exit_file_stem=self.output_dir / "slurm", run_id=run_id, ca=ca_pem is not None)
        done = self._run(opts, stdin=script, env=self._env(job_env))
        if done.returncode != 0:
            message = (done.stderr or done.stdout).strip() or f"exit code {done.returncode}"
            raise ProviderError(f"sbatch refused the job: {message[:500]}")
        job_id = done.stdout.strip().split(";", 1)[0]
        if not _JOB_ID.match(job_id):
            raise ProviderError(f"sbatch answered {done.stdout.strip()[:200]!r}, not a job id")
        return job_id

    def find(self, run_id: str) -> str | None:
        """The job submitted for ``run_id`` (its comment names the run) among those the controller knows."""
        shown = self._run(["squeue", "--noheader", "--states=all", "--format=%i|%k"])
        if shown.returncode != 0:
            message = (shown.stderr or shown.stdout).strip()
            raise ProviderError(f"squeue: {message[:300] or 'no answer'}")
        want = job_comment(run_id)
        for line in shown.stdout.splitlines():
            job_id, _, comment = line.strip().partition("|")
            if comment == want and _JOB_ID.match(job_id):
                return job_id
        return None

    def status(self, job_id: str) -> JobStatus:
        self._check_id(job_id)
        shown = self._run(["scontrol", "show", "job", "--oneliner", job_id])
        if shown.returncode == 0 and shown.stdout.strip():
            fields = dict(re.findall(r"(\w+)=(\S*)", shown.stdout))
            code, sig = _exit_pair(fields.get("ExitCode"))
            status = map_state(
                fields.get("JobState", "UNKNOWN"), exit_code=code, signal=sig, reason=fields.get("Reason")
            )
            return self._cancelled(job_id, status)
        if "Invalid job id" not in (shown.stderr + shown.stdout):
            message = (shown.stderr or shown.stdout).strip()
            raise ProviderError(f"scontrol show job {job_id}: {message[:300] or 'no answer'}")
        return self._cancelled(job_id, self._from_accounting(job_id))

    def _from_accounting(self, job_id: str) -> JobStatus:
        """A job the controller forgot: sacct when there is accounting storage, else the recorded exit code."""
        acct = self._run(["sacct", "--noheader", "--parsable2", "--allocations", "-o", "State,ExitCode", "-j", job_id])
        line = acct.stdout.strip().splitlines()[0] if acct.returncode == 0 and acct.stdout.strip() else ""
        if line:
            native, _, pair = line.partition("|")
            code, sig = _exit_pair(pair)
            return map_state(native, exit_code=code, signal=sig)
        recorded = self.output_dir / f"slurm.{job_id}.exit"
        try:
            code = int(recorded.read_text().strip())
        except (OSError, ValueError):
            if self._output(job_id).exists():
                return JobStatus(
                    JobState.LOST,
                    native="gone",
                    reason="SLURM no longer knows the job and it recorded no exit code (killed, or purged)",
                )
            raise JobNotFound(f"SLURM does not know job {job_id!r}") from None
        state = JobState.COMPLETED if code == 0 else JobState.FAILED
        return JobStatus(state, exit_code=code, native="recorded", reason=None if code == 0 else f"exit code {code}")

    def _cancelled(self, job_id: str, status: JobStatus) -> JobStatus:
        """A job we cancelled ends ``cancelled`` even when it exited on its own after our SIGTERM."""
        if status.state in (JobState.FAILED, JobState.COMPLETED) and self._marker(job_id).exists():
            return JobStatus(
                JobState.CANCELLED,
                exit_code=status.exit_code,
                signal=status.signal,
                reason="cancelled",
                native=status.native,
            )
        return status

    def _marker(self, job_id: str) -> Path:
        return self.output_dir / f"slurm.{job_id}.cancelled"

    def cancel(self, job_id: str) -> None:
        status = self.status(job_id)
        if status.state.finished:
            return
        self.output_dir.mkdir(parents=True, exist_ok=True)
        self._marker(job_id).touch()
        if status.state == JobState.QUEUED:
            self._scancel(job_id)
            return
        done = self._run(["scancel", "--full", "--signal=TERM", job_id])
        if done.returncode != 0:
            self._scancel(job_id)
            return
        timer = threading.Timer(self.context.cancel_grace, self._force, args=(job_id,))
        timer.daemon = True
        timer.start()

    def _force(self, job_id: str) -> None:
        with contextlib.suppress(ProviderError):
            if not self.status(job_id).state.finished:
                self._scancel(job_id)

    def _scancel(self, job_id: str) -> None:
        done = self._run(["scancel", job_id])
        if done.returncode != 0 and "already completing or completed" not in done.stderr:
            raise ProviderError(f"scancel {job_id}: {(done.stderr or done.stdout).strip()[:300]}")

    def logs(self, job_id: str, limit: int = 65536, offset: int = 0) -> bytes:
        self._check_id(job_id)
        try:
            with open(self._output(job_id), "rb") as f:
                f.seek(max(0, offset))
                return f.read(max(0, limit))
        except FileNotFoundError:
            return b""  # not started yet (or the output file is on a filesystem this server does not see)

    def reachable(self) -> Reachability:
        if shutil.which("scontrol") is None:
            return Reachability(False, "SLURM's client commands (scontrol, sbatch) are not installed on this server")
        try:
            done = self._run(["scontrol", "ping"])
        except ProviderError as exc:
            return Reachability(False, str(exc))
        text = (done.stdout or done.stderr).strip()
        ok = done.returncode == 0 and " is UP" in text
        return Reachability(ok, text.splitlines()[0][:300] if text else f"scontrol ping: exit {done.returncode}")


def _strings(value: Any, section: str, key: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(x, str) and x for x in value):
        raise ValueError(f"[providers.{section}] {key} must be a list of strings")
    return tuple(value)


def _env_table(value: Any, section: str) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise ValueError(f"[providers.{section}] env must be a table of strings")
    return dict(value)


def create(config: Mapping[str, Any], context: ProviderContext) -> SlurmProvider:
    """The registry's factory (settings in the module docstring)."""
    known = {"partition", "account", "qos", "extra_args", "client", "output_dir", "slurm_conf", "timeout", "env"}
    unknown = set(config) - known - {"cancel_grace"}
    if unknown:
        raise ValueError(f"[providers.slurm] has no setting {sorted(unknown)[0]!r}")
    for key in ("partition", "account", "qos", "output_dir", "slurm_conf"):
        if key in config and (not isinstance(config[key], str) or not config[key]):
            raise ValueError(f"[providers.slurm] {key} must be a non-empty string")
    client = config.get("client", list(DEFAULT_CLIENT))
    if isinstance(client, str):
        client = shlex.split(client)
    timeout = config.get("timeout", 20.0)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        raise ValueError("[providers.slurm] timeout must be a number of seconds > 0")
    output_dir = config.get("output_dir")
    return SlurmProvider(
        context,
        env=_env_table(config.get("env", {}), "slurm"),
        partition=config.get("partition"),
        account=config.get("account"),
        qos=config.get("qos"),
        extra_args=_strings(config.get("extra_args", []), "slurm", "extra_args"),
        client=_strings(client, "slurm", "client") or DEFAULT_CLIENT,
        output_dir=Path(output_dir) if output_dir else None,
        slurm_conf=config.get("slurm_conf"),
        timeout=float(timeout),
    )
