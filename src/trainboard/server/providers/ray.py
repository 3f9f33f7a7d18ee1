"""The ``ray`` provider: a job on a Ray cluster through Ray Jobs (``ray.job_submission.JobSubmissionClient``).

The entrypoint is the wrapped argv (``trainboard run --run-id ID ... -- argv``) quoted word by word with
:func:`shlex.join` (Ray takes a shell string), preceded by ``cd -- DIR &&`` when the spec names a working
directory (a path on the cluster: nothing is uploaded). ``TRAINBOARD_URL`` / ``TRAINBOARD_TOKEN`` and the spec's
environment travel in ``runtime_env.env_vars`` — visible to whoever can reach the cluster's dashboard, as every Ray
job's environment is; the token is a write token restricted to this one run. Resources map onto
``entrypoint_num_cpus`` / ``entrypoint_num_gpus`` / ``entrypoint_memory``. Ray has no time limit for jobs.

Cancel is ``stop_job``: Ray sends SIGTERM to the entrypoint's processes and SIGKILL after
``RAY_JOB_STOP_WAIT_TIME_S`` (set per job from ``cancel_grace``). Ray holds the stop of a job still waiting for
resources until the job starts, so such a job is reported cancelled at once (a marker in the state directory).
The native log is ``get_job_logs``: everything
the entrypoint printed, including what happened before ``trainboard run`` started (a runtime-env setup failure,
``trainboard: not found``). ``trainboard run`` mirrors the command's output, so the Ray dashboard shows it too.

Every call is blocking HTTP with a timeout; the server runs providers off its event loop.

```toml
[providers.ray]
address = "http://head:8265"          # the Ray dashboard (Jobs API); default http://127.0.0.1:8265
client = ["trainboard"]               # how the cluster calls trainboard (e.g. ["/opt/venv/bin/trainboard"])
headers = {Authorization = "..."}     # extra HTTP headers for a dashboard behind a proxy (optional)
timeout = 10                          # seconds per HTTP request to the dashboard
env = {TRAINBOARD_DATA = "/tmp/tb"}   # optional: environment every job gets (set by the administrator)
```
"""

from __future__ import annotations

import math
import re
import shlex
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from ray.job_submission import JobSubmissionClient

__all__ = ["RayProvider", "create", "entrypoint", "map_status"]

DEFAULT_ADDRESS = "http://127.0.0.1:8265"
#: Ray's job states -> trainboard's.
_STATES = {
    "PENDING": JobState.QUEUED,
    "RUNNING": JobState.RUNNING,
    "SUCCEEDED": JobState.COMPLETED,
    "FAILED": JobState.FAILED,
    "STOPPED": JobState.CANCELLED,
}


def entrypoint(argv: Sequence[str], cwd: str | None, *, ca: bool = False) -> str:
    """The shell string Ray runs: every word quoted, so nothing the user sent is interpreted by the shell.
    ``ca``: first write ``$TRAINBOARD_CA_PEM`` to a file for the client (:func:`ca_shell`)."""
    command = shlex.join(argv)
    first = f"{ca_shell()}; " if ca else ""
    if cwd:
        return f"{first}cd -- {shlex.quote(cwd)} && exec {command}"
    return f"{first}exec {command}"


def _reason(message: str | None, error_type: str | None) -> str | None:
    """Ray's message without the log tail it appends (the log is the native log)."""
    if not message:
        return error_type
    first = message.split(", last available logs", 1)[0].strip().splitlines()
    text = first[0] if first else message.strip()
    return text[:500]


def map_status(
    native: str, *, exit_code: int | None, message: str | None = None, error_type: str | None = None
) -> JobStatus:
    """A Ray job state (``PENDING``, ``RUNNING``, ``SUCCEEDED``, ``FAILED``, ``STOPPED``) as a :class:`JobStatus`."""
    state = _STATES.get(native)
    if state is None:
        return JobStatus(JobState.RUNNING, native=native, reason=f"unknown Ray job state {native!r}")
    sig: int | None = None
    if exit_code is not None and exit_code < 0:  # a signal, as Python's Popen reports it
        sig, exit_code = -exit_code, 128 - exit_code
    elif exit_code is not None and exit_code > 128 and state in (JobState.FAILED, JobState.CANCELLED):
        sig = exit_code - 128
    if state == JobState.COMPLETED:
        return JobStatus(state, exit_code=0 if exit_code is None else exit_code, native=native)
    if state == JobState.CANCELLED:
        return JobStatus(state, exit_code=exit_code, signal=sig, reason="stopped", native=native)
    if state == JobState.FAILED:
        return JobStatus(
            state, exit_code=exit_code, signal=sig, reason=_reason(message, error_type) or "failed", native=native
        )
    return JobStatus(state, native=native, reason=_reason(message, None) if state == JobState.QUEUED else None)


class RayProvider:
    """Jobs on a Ray cluster (see the module docstring)."""

    name = "ray"
    capabilities = Capabilities(gpus=True, cpus=True, memory=True, time_limit=False, image=False, cwd=True)

    def __init__(
        self,
        context: ProviderContext,
        *,
        address: str = DEFAULT_ADDRESS,
        client: Sequence[str] = DEFAULT_CLIENT,
        headers: Mapping[str, str] | None = None,
        timeout: float = 10.0,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.context = context
        self.address = address.rstrip("/")
        self.client_argv = tuple(client)
        self.headers = dict(headers or {})
        self.timeout = timeout
        self.job_env = dict(env or {})
        self._client: JobSubmissionClient | None = None
        self._lock = threading.Lock()

    # ---- the Ray client (made on first use: a cluster that is down must not stop the server) ---------------
    def _jobs(self) -> JobSubmissionClient:
        with self._lock:
            if self._client is None:
                self._client = self._connect()
            return self._client

    def _connect(self) -> JobSubmissionClient:
        from ray.job_submission import JobSubmissionClient

        timeout = self.timeout

        class TimedClient(JobSubmissionClient):
            """Ray's client sends its requests without a timeout; a hung dashboard must not hang the server."""

            def _do_request(self, method: str, endpoint: str, **kwargs: Any) -> Any:
                kwargs.setdefault("timeout", timeout)
                return super()._do_request(method, endpoint, **kwargs)

        try:
            return TimedClient(self.address, headers=self.headers or None)
        except Exception as exc:  # ConnectionError, a version mismatch, an HTTP error: Ray raises several kinds
            raise ProviderError(f"Ray at {self.address} is unreachable: {_short(exc)}") from None

    def _call(self, what: str, job_id: str | None, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ProviderError:
            raise
        except Exception as exc:
            text = str(exc)
            if job_id is not None and ("does not exist" in text or "404" in text):
                raise JobNotFound(f"Ray does not know job {job_id!r}") from None
            with self._lock:
                self._client = None  # reconnect next time (the head may have restarted)
            raise ProviderError(f"Ray at {self.address}: {what} failed: {_short(exc)}") from None

    # ---- the Protocol ----------------------------------------------------------------------------------------
    def deploy(self, spec: JobSpec, *, run_id: str, server_url: str, token: str | None) -> str:
        res = spec.resources
        if res.time_limit is not None:
            raise SpecError("resources.time_limit", "the ray provider does not take a time limit")
        argv = wrapped_argv(spec, run_id=run_id, server_url=server_url, client=self.client_argv)
        ca_pem = self.context.ca_pem()
        env = self.job_env | execution_env(spec, run_id=run_id, server_url=server_url, token=token, ca_pem=ca_pem)
        env["PYTHONUNBUFFERED"] = env.get("PYTHONUNBUFFERED", "1")
        env["RAY_JOB_STOP_WAIT_TIME_S"] = str(max(1, math.ceil(self.context.cancel_grace)))
        kwargs: dict[str, Any] = {
            "entrypoint": entrypoint(argv, spec.cwd, ca=ca_pem is not None),
            "submission_id": f"trainboard-{run_id}",
            "runtime_env": {"env_vars": env},
            "metadata": {"trainboard_run_id": run_id, "trainboard_name": (spec.name or "")[:200]},
        }
        if res.cpus is not None:
            kwargs["entrypoint_num_cpus"] = res.cpus
        if res.gpus:
            kwargs["entrypoint_num_gpus"] = res.gpus
        if res.gpu_type:
            kwargs["entrypoint_resources"] = {f"accelerator_type:{res.gpu_type}": 0.001}
        if res.memory_mb is not None:
            kwargs["entrypoint_memory"] = res.memory_mb * 1024 * 1024
        jobs = self._jobs()
        job_id: str = self._call("submitting the job", None, jobs.submit_job, **kwargs)
        return job_id

    def find(self, run_id: str) -> str | None:
        """The job submitted for ``run_id`` (its submission id is ``trainboard-<run id>``), or None."""
        job_id = f"trainboard-{run_id}"
        try:
            self._call("reading the job", job_id, self._jobs().get_job_info, job_id)
        except JobNotFound:
            return None
        return job_id

    def status(self, job_id: str) -> JobStatus:
        info = self._call("reading the job", job_id, self._jobs().get_job_info, job_id)
        native = str(getattr(info.status, "value", info.status))
        if native == "PENDING" and self._marker(job_id).exists():
            return JobStatus(
                JobState.CANCELLED,
                reason="cancelled while waiting for resources (Ray stops it should it start)",
                native=native,
            )
        return map_status(
            native,
            exit_code=getattr(info, "driver_exit_code", None),
            message=info.message,
            error_type=getattr(info, "error_type", None),
        )

    def cancel(self, job_id: str) -> None:
        status = self.status(job_id)
        if status.state.finished:
            return
        if status.state == JobState.QUEUED:
            # Ray queues the stop of a job still waiting for resources until it starts; the run ends now.
            marker = self._marker(job_id)
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.touch()
        self._call("stopping the job", job_id, self._jobs().stop_job, job_id)

    def _marker(self, job_id: str) -> Path:
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", job_id)[:200]
        return self.context.state_dir / f"{safe}.cancelled-while-pending"

    def logs(self, job_id: str, limit: int = 65536, offset: int = 0) -> bytes:
        text: str = self._call("reading the job's log", job_id, self._jobs().get_job_logs, job_id)
        data = text.encode("utf-8", "surrogateescape")
        return data[max(0, offset) : max(0, offset) + max(0, limit)]

    def reachable(self) -> Reachability:
        try:
            jobs = self._jobs()
            version = self._call("asking its version", None, jobs.get_version)
        except ProviderError as exc:
            return Reachability(False, str(exc))
        return Reachability(True, f"Ray Jobs at {self.address} (version {version})")


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]


def _strings(value: Any, key: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = shlex.split(value)
    if not isinstance(value, list) or not value or not all(isinstance(x, str) and x for x in value):
        raise ValueError(f"[providers.ray] {key} must be a command: a list of strings")
    return tuple(value)


def create(config: Mapping[str, Any], context: ProviderContext) -> RayProvider:
    """The registry's factory: ``address``, ``client``, ``headers``, ``timeout`` (see the module docstring)."""
    unknown = set(config) - {"address", "client", "headers", "timeout", "env", "cancel_grace"}
    if unknown:
        raise ValueError(f"[providers.ray] has no setting {sorted(unknown)[0]!r}")
    import ray.job_submission  # noqa: F401 - fail here (shown by GET /api/providers) when Ray is not installed

    address = config.get("address", DEFAULT_ADDRESS)
    if not isinstance(address, str) or not address.startswith(("http://", "https://")):
        raise ValueError("[providers.ray] address must be the http(s):// URL of the Ray dashboard")
    headers = config.get("headers", {})
    if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
        raise ValueError("[providers.ray] headers must be a table of strings")
    timeout = config.get("timeout", 10.0)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        raise ValueError("[providers.ray] timeout must be a number of seconds > 0")
    client = _strings(config["client"], "client") if "client" in config else DEFAULT_CLIENT
    env = config.get("env", {})
    if not isinstance(env, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in env.items()):
        raise ValueError("[providers.ray] env must be a table of strings")
    return RayProvider(context, address=address, client=client, headers=headers, timeout=float(timeout), env=env)
