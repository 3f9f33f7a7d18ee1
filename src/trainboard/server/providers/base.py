"""The provider contract: how the server starts, watches, stops and reads a job on some execution backend.

One module per backend (``local``, ``ray``, ``slurm``, ``runpod``), each exposing
``create(config: Mapping[str, Any], context: ProviderContext) -> Provider`` (see ``registry``). A provider is
*synchronous* and may block (subprocesses, HTTP): the API always calls it off the event loop
(``asyncio.to_thread``), so keep each call bounded (seconds, not minutes).

The flow of one launch:

1. The API validates a :class:`JobSpec` (argv list, allowlisted env, cwd inside ``--launch-root``), creates the
   run with status ``queued`` and a write token restricted to that run, then calls
   ``provider.deploy(spec, run_id=..., server_url=..., token=...)``, which returns the provider's job id
   (a string the provider alone interprets: a pid, a Ray submission id, a SLURM job id, a pod id).
2. Every provider runs :func:`wrapped_argv` on the execution side — ``trainboard run --run-id ID ... -- argv`` —
   with :func:`execution_env` added to its environment (``TRAINBOARD_URL``, ``TRAINBOARD_TOKEN``). ``trainboard run``
   attaches to the pre-created run, which turns it ``running``, and streams output byte-exact, metrics, system
   samples and the exit code itself. The token travels in the environment, never in argv (``ps`` shows argv).
3. The server polls ``status(job_id)`` for launched runs that are not finished. While the run is ``queued`` it
   follows the provider; once the job is over (:attr:`JobState.finished`) and ``trainboard run`` did not end the
   run itself (it never started: a failed ``pip install``, a missing image, a killed node), the server ends the
   run from the :class:`JobStatus`: ``failed`` with ``exit_code`` and ``reason``, or ``interrupted``.
4. ``cancel(job_id)`` asks the job to stop (SIGTERM / ``scancel`` / stop job / terminate pod); a provider that
   can escalates after its grace period by itself. It must be idempotent and not raise for a job already over.
5. ``logs(job_id, limit, offset)`` returns the provider's *native* log bytes (what the process printed before
   ``trainboard run`` took over, or the backend's own messages), never trainboard's stored output: the run's
   terminal output is already in the run. The UI shows these bytes labelled as the provider's log.

Optional: a provider may define ``validate(spec) -> None`` raising :class:`SpecError`; the API calls it before the
run is created, so a bad spec is a plain 422 with nothing left behind (``local`` checks ``cwd`` there).
The API already refuses what :class:`Capabilities` says the provider cannot do (GPUs, image, limits).
Optional: ``find(run_id) -> str | None``, the job id of the job deployed for that run (or None): the watcher
asks it when the server process deploying a launch died before storing the job id, to adopt that job.
Optional: ``leftovers(job_id) -> Path | None``, the client data directory of an ended job when it holds upload
journals the job could not send (``local``); the service uploads them before it ends the run (``journals``).

Errors: raise :class:`ProviderError` (message shown to the user, HTTP 502) for a backend that fails or cannot be
reached, :class:`JobNotFound` for an id the backend does not know, :class:`SpecError` (HTTP 422) for a spec the
provider cannot run (GPUs on a provider without them, no image for a container provider). Messages must not
contain secrets (tokens, API keys).
"""

from __future__ import annotations

import enum
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

__all__ = [
    "CA_PEM_ENV",
    "RESUME_ENV",
    "Capabilities",
    "JobNotFound",
    "JobSpec",
    "JobState",
    "JobStatus",
    "Provider",
    "ProviderContext",
    "ProviderError",
    "Reachability",
    "Resources",
    "SpecError",
    "ca_shell",
    "execution_env",
    "shell_command",
    "wrapped_argv",
]


class ProviderError(Exception):
    """The backend failed or cannot be reached; the message is shown to the user (no secrets in it)."""


class JobNotFound(ProviderError):
    """The backend does not know this job id (purged, or never existed)."""


class SpecError(ValueError):
    """The provider cannot run this spec; the message names the field (answered with HTTP 422)."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.message = message


class JobState(enum.StrEnum):
    """A job's state as the provider reports it, mapped onto trainboard's vocabulary."""

    QUEUED = "queued"  # accepted, waiting for resources (SLURM PENDING, Ray PENDING, pod being created)
    RUNNING = "running"  # the process runs (``trainboard run`` may or may not have taken over yet)
    COMPLETED = "completed"  # ended with exit code 0
    FAILED = "failed"  # ended with a non-zero exit code or could not start (``reason`` says why)
    CANCELLED = "cancelled"  # stopped by ``cancel`` (or by the backend's own cancel, e.g. ``scancel``)
    LOST = "lost"  # the backend no longer knows it, or its process vanished (node lost, server restarted)
    PREEMPTED = "preempted"  # the backend took the machine back (a spot/interruptible pod outbid)

    @property
    def finished(self) -> bool:
        return self not in (JobState.QUEUED, JobState.RUNNING)

    @property
    def run_status(self) -> str:
        """The trainboard run status this state ends a run with (for finished states) or keeps it in."""
        return {
            JobState.QUEUED: "queued",
            JobState.RUNNING: "running",
            JobState.COMPLETED: "completed",
            JobState.FAILED: "failed",
            JobState.CANCELLED: "interrupted",
            JobState.LOST: "interrupted",
            JobState.PREEMPTED: "interrupted",
        }[self]


@dataclass(frozen=True, slots=True)
class JobStatus:
    """One observation of a job.

    ``exit_code`` follows the shell (128 + N when signal N killed it) when known; ``signal`` is N then.
    ``reason`` is a short human sentence for the run's event (``"command not found"``, ``"cancelled"``,
    ``"node failure"``); ``native`` is the backend's own state word (``"PENDING"``, ``"OUT_OF_MEMORY"``,
    ``"EXITED"``) shown beside it. ``announce``: record this observation as an event of the run even though the
    state did not change (a job found again after a server restart). ``details``: facts about the job worth
    keeping once it is gone (RunPod: ``gpu_name``, ``cost_per_hr``), stored with the launch.
    """

    state: JobState
    exit_code: int | None = None
    signal: int | None = None
    reason: str | None = None
    native: str | None = None
    announce: bool = False
    details: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Resources:
    """What the job asks for; ``None`` means the provider's default. ``time_limit`` is in seconds."""

    cpus: float | None = None
    gpus: int = 0
    gpu_type: str | None = None
    memory_mb: int | None = None
    time_limit: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "cpus": self.cpus,
            "gpus": self.gpus,
            "gpu_type": self.gpu_type,
            "memory_mb": self.memory_mb,
            "time_limit": self.time_limit,
        }


@dataclass(frozen=True, slots=True)
class JobSpec:
    """What to run. ``argv`` is a list (never a shell string); ``env`` is already filtered by the server's
    allowlist and holds the explicit secrets; ``cwd`` is validated to lie inside ``--launch-root`` for providers
    that run on this machine (remote providers treat it as a path on the execution side, ``None``: their default).
    ``image`` is for container providers (RunPod). ``name``/``project``/``config`` describe the run."""

    argv: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: str | None = None
    resources: Resources = field(default_factory=Resources)
    image: str | None = None
    name: str | None = None
    project: str = "default"
    config: Mapping[str, Any] = field(default_factory=dict)
    #: Names in ``env`` that are secrets: never stored with the run, never shown, never logged.
    secret_names: frozenset[str] = frozenset()
    #: Per-launch settings of the provider overriding its providers.toml defaults (RunPod: ``volume``,
    #: ``interruptible``, ``bid_per_gpu``, ``data_center_id``, ``cuda_versions``); only keys the provider lists
    #: in ``Capabilities.options``.
    options: Mapping[str, Any] = field(default_factory=dict)
    #: The checkpoint to resume from (a path on the execution side, or a URL): ``TRAINBOARD_RESUME_FROM``.
    resume_from: str | None = None


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a provider supports; the API refuses (422) a spec asking for more, and the UI shows only these."""

    gpus: bool = False
    gpu_types: tuple[str, ...] = ()
    cpus: bool = False
    memory: bool = False
    time_limit: bool = False
    image: bool = False  # runs a container image (and needs one)
    cwd: bool = True  # honours a working directory
    native_logs: bool = True
    #: The image a launch naming none runs (``image`` providers with a configured default): the image is optional
    default_image: str | None = None
    #: The per-launch options (``JobSpec.options``) the provider takes
    options: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "gpus": self.gpus,
            "gpu_types": list(self.gpu_types),
            "cpus": self.cpus,
            "memory": self.memory,
            "time_limit": self.time_limit,
            "image": self.image,
            "cwd": self.cwd,
            "native_logs": self.native_logs,
            "default_image": self.default_image,
            "options": list(self.options),
        }


@dataclass(frozen=True, slots=True)
class Reachability:
    """Whether the backend answers now; ``detail`` says what was checked or what failed."""

    ok: bool
    detail: str = ""


@dataclass(frozen=True, slots=True)
class ProviderContext:
    """What the server hands every provider when it is created (from settings and ``providers.toml``).

    ``state_dir`` is the provider's own folder in the data directory (job records, native log files);
    ``launch_root`` bounds local working directories; ``server_url`` is the URL the *execution side* reaches the
    server at (``public_url`` in ``providers.toml`` for remote backends, else the bound address);
    ``cancel_grace`` is the seconds between the polite stop and the forced one; ``ca_bundle`` is the PEM file of
    the CA(s) a job must trust to verify ``server_url`` (``ca_bundle`` in ``providers.toml``, else the server's own
    ``--ssl-certfile`` when the job reaches the server at its own address), ``None`` for the system store."""

    state_dir: Path
    launch_root: Path | None
    server_url: str
    cancel_grace: float = 10.0
    ca_bundle: Path | None = None

    def ca_pem(self) -> str | None:
        """The CA bundle's text, for jobs on other machines (``TRAINBOARD_CA_PEM``); ``None`` without one."""
        if self.ca_bundle is None:
            return None
        try:
            return self.ca_bundle.read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError) as exc:
            raise ProviderError(f"cannot read the CA bundle {str(self.ca_bundle)!r}: {exc}") from None


@runtime_checkable
class Provider(Protocol):
    """An execution backend. See the module docstring for the contract of each method."""

    name: str
    capabilities: Capabilities

    def deploy(self, spec: JobSpec, *, run_id: str, server_url: str, token: str | None) -> str:
        """Start the job (wrapped with :func:`wrapped_argv`); return its job id. Raises ``SpecError`` /
        ``ProviderError``."""
        ...

    def status(self, job_id: str) -> JobStatus:
        """The job's current state."""
        ...

    def cancel(self, job_id: str) -> None:
        """Ask the job to stop (idempotent; escalates after the grace period on its own)."""
        ...

    def logs(self, job_id: str, limit: int = 65536, offset: int = 0) -> bytes:
        """Up to ``limit`` bytes of the provider's native log from byte ``offset`` (``b""`` past the end)."""
        ...

    def reachable(self) -> Reachability:
        """Whether the backend answers now (bounded: a few seconds at most)."""
        ...


#: How the execution side calls the client. Remote providers use the ``trainboard`` script of the client
#: installed there; ``local`` uses this interpreter (``python -m trainboard``), so no PATH lookup is involved.
DEFAULT_CLIENT: tuple[str, ...] = ("trainboard",)


def wrapped_argv(
    spec: JobSpec,
    *,
    run_id: str,
    server_url: str,
    client: Sequence[str] = DEFAULT_CLIENT,
    extra: Sequence[str] = (),
) -> list[str]:
    """``trainboard run --run-id ID --url URL [--name N] [--project P] [extra] -- argv``: the same wrapper for every
    provider. The token is not here: pass :func:`execution_env`'s ``TRAINBOARD_TOKEN`` in the environment."""
    if not spec.argv:
        raise SpecError("argv", "must not be empty")
    out = [*client, "run", "--run-id", run_id, "--url", server_url]
    if spec.name:
        out += ["--name", spec.name]
    out += ["--project", spec.project or "default", *extra, "--", *spec.argv]
    return out


#: The variable a remote job receives the server's CA in (PEM text); the job's shell writes it to a file and
#: points ``TRAINBOARD_CA_BUNDLE`` (what the client reads) at it: see :func:`ca_shell`.
CA_PEM_ENV = "TRAINBOARD_CA_PEM"
#: The variable naming the checkpoint a relaunch resumes from (``JobSpec.resume_from``).
RESUME_ENV = "TRAINBOARD_RESUME_FROM"


def execution_env(
    spec: JobSpec, *, run_id: str, server_url: str, token: str | None, ca_pem: str | None = None
) -> dict[str, str]:
    """The job's extra environment: the spec's (allowlisted) env plus what ``trainboard run`` needs; ``ca_pem``
    (remote providers) travels as ``TRAINBOARD_CA_PEM`` for :func:`ca_shell` to write out."""
    env = dict(spec.env)
    env["TRAINBOARD_URL"] = server_url
    env["TRAINBOARD_LAUNCH_RUN_ID"] = run_id
    if token:
        env["TRAINBOARD_TOKEN"] = token
    if ca_pem:
        env[CA_PEM_ENV] = ca_pem
    if spec.resume_from:
        env[RESUME_ENV] = spec.resume_from
    return env


def ca_shell(path: str = "${TMPDIR:-/tmp}/trainboard-ca-$$.pem") -> str:
    """Shell text a remote job's script starts with: when ``$TRAINBOARD_CA_PEM`` is set, write it to ``path`` and
    export ``TRAINBOARD_CA_BUNDLE`` naming that file (the client only reads a file name)."""
    return (
        f'if [ -n "${{{CA_PEM_ENV}:-}}" ]; then TRAINBOARD_CA_BUNDLE="{path}"; '
        f'printf \'%s\\n\' "${CA_PEM_ENV}" > "$TRAINBOARD_CA_BUNDLE" && export TRAINBOARD_CA_BUNDLE; fi'
    )


def shell_command(argv: Sequence[str]) -> str:
    """``argv`` quoted for a POSIX shell, for backends that only take a command string (a pod's start command,
    an sbatch script line). Every word is quoted: nothing the user sent is interpreted by the shell."""
    return shlex.join(argv)
