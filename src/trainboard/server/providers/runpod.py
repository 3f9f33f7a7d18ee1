"""``runpod``: one GPU pod per launch, through the official ``runpod`` package (``pip install "trainboard[runpod]"``).

```toml
[providers.runpod]
api_key = "..."                      # else $RUNPOD_API_KEY (or `runpod config`'s credentials file)
gpu_type = "NVIDIA GeForce RTX 4090" # default GPU type; a launch may name another (resources.gpu_type)
gpu_types = ["NVIDIA GeForce RTX 4090", "NVIDIA A100 80GB PCIe"]  # offered in the UI
image = "runpod/pytorch:2.4.0-py3.11-cuda12.4.1-devel-ubuntu22.04"  # used when a launch names none
cpu_instance_id = "cpu3c-2-4"        # the CPU-only pod's instance type (a launch with gpus = 0, no gpu_type)
cloud_type = "ALL"                   # ALL, SECURE or COMMUNITY
container_disk_gb = 20
install = "pip install --quiet trainboard"  # how the pod gets the client
token_secret = ""                    # name of a RunPod secret of your own holding a write token (else one per launch)
api_url = ""                         # RunPod's API base (default https://api.runpod.io; $RUNPOD_API_BASE_URL)
```

A launch asking for no GPUs (``resources.gpus`` 0 and no ``gpu_type``) gets a CPU-only pod: ``create_pod``
without a GPU type sends RunPod's ``deployCpuPod`` with ``cpu_instance_id`` as its ``instanceId`` (the package
adds its ``runpod-ubuntu`` template). Such a pod's size is its instance type, so ``cpus`` and ``memory_mb`` are
refused for it (they size GPU pods). A ``gpu_type`` without a count means one GPU of that type.

The pod's start command installs the client, then runs ``trainboard run --run-id ID --url PUBLIC_URL -- argv``
(``public_url`` in providers.toml must be an address the pod can reach), so the job's output, metrics and exit
code stream into the run live. When it ends the pod terminates itself (through RunPod's API, with the pod-scoped
``$RUNPOD_API_KEY`` RunPod puts in every pod): an exited container would otherwise be restarted and the command
run again. If the install fails the pod *stops* instead, so its container log stays readable in the RunPod
console (RunPod has no API for a pod's log, which is why ``logs()`` has nothing to return).

The run's write token never appears in the pod's definition: it is stored as a RunPod account secret
(REST API v2, ``POST /v2/secrets``; the ``runpod`` package has no call for it) and the pod's environment holds
the reference ``{{ RUNPOD_SECRET_<name> }}``, which RunPod substitutes when the pod boots. The same goes for
the launch's other explicit secrets. Those per-launch secrets are deleted on cancel and when the job is seen
finished.

The package builds its GraphQL documents by pasting values between double quotes, unescaped; every string
handed to it is escaped here first (:func:`gql_string`), so a quote in a command cannot break or alter the
mutation. Its ``import`` calls ``logging.basicConfig(level=INFO)`` (``runpod/serverless/utils/rp_upload.py``);
:func:`_import_runpod` undoes that, so the server's logging stays as it was.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import shlex
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from trainboard.server.providers.base import (
    Capabilities,
    JobSpec,
    JobState,
    JobStatus,
    ProviderContext,
    ProviderError,
    Reachability,
    SpecError,
    execution_env,
    shell_command,
    wrapped_argv,
)

__all__ = ["POD_CONTROL", "RunPodConfig", "RunPodProvider", "create", "gql_string", "pod_status", "start_command"]

DEFAULT_API_URL = "https://api.runpod.io"
DEFAULT_GPU_TYPE = "NVIDIA GeForce RTX 4090"
DEFAULT_IMAGE = "runpod/pytorch:2.4.0-py3.11-cuda12.4.1-devel-ubuntu22.04"
DEFAULT_INSTALL = "pip install --quiet trainboard"
DEFAULT_CPU_INSTANCE = "cpu3c-2-4"
_SECRET_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-/]*$")
log = logging.getLogger(__name__)

# The runpod package keeps its API key in a module global (``runpod.api_key``) and reads its base URL from
# ``$RUNPOD_API_BASE_URL`` at each call: calls are serialised so two providers' settings never mix.
_CALL_LOCK = threading.Lock()
_module: Any = None


def _import_runpod() -> Any:
    """``import runpod`` without the root-logger configuration its import performs."""
    global _module
    if _module is None:
        root = logging.getLogger()
        handlers, level = list(root.handlers), root.level
        try:
            import runpod
        except ImportError as exc:
            raise ProviderError(
                'the runpod provider needs the runpod package: pip install "trainboard[runpod]"'
            ) from exc
        finally:
            root.handlers[:] = handlers
            root.setLevel(level)
        _module = runpod
    return _module


def gql_string(value: str) -> str:
    """``value`` escaped for the inside of a GraphQL string literal (JSON's escapes are GraphQL's)."""
    return json.dumps(value, ensure_ascii=False)[1:-1]


# The pod manages itself with the pod-scoped key RunPod injects ($RUNPOD_POD_ID, $RUNPOD_API_KEY); python3 is
# there anyway (trainboard needs it), so no runpodctl is needed. It travels in the pod's environment as
# $TRAINBOARD_POD_CONTROL (which keeps the start command readable); argv[1] is "stop" or "terminate".
POD_CONTROL = (
    "import json,os,sys,urllib.request as u\n"
    "p=os.environ.get('RUNPOD_POD_ID');k=os.environ.get('RUNPOD_API_KEY')\n"
    "m={'stop':'podStop(input: {podId: \"%s\"}) { id desiredStatus }',"
    "'terminate':'podTerminate(input: {podId: \"%s\"})'}\n"
    "q='mutation { '+m[sys.argv[1]]%p+' }'\n"
    "b=os.environ.get('RUNPOD_API_BASE_URL','https://api.runpod.io')\n"
    "h={'Content-Type':'application/json','Authorization':'Bearer '+str(k)}\n"
    "p and k and u.urlopen(u.Request(b+'/graphql',json.dumps({'query':q}).encode(),h),timeout=30)\n"
)
_CONTROL = 'python3 -c "$TRAINBOARD_POD_CONTROL"'


def start_command(wrapped: list[str], *, install: str, cwd: str | None, time_limit: int | None) -> str:
    """The pod's start command (RunPod's ``dockerArgs``): ``bash -c SCRIPT``, one line, every user word quoted.

    SCRIPT installs the client (``install`` is the operator's shell text from providers.toml), changes to
    ``cwd``, runs the wrapped argv (under ``timeout`` when there is a time limit: SIGTERM, then SIGKILL 30 s
    later, which ``trainboard run`` records as an interrupted run), then terminates the pod. A failed install or
    ``cd`` stops the pod instead, keeping its log. It ends in ``sleep infinity`` so the container never exits
    (RunPod would restart it and run the command again) while the termination takes effect.
    """
    run = shell_command(wrapped)
    if time_limit:
        run = f"timeout --signal=TERM --kill-after=30 {int(time_limit)} {run}"
    stop = f"{_CONTROL} stop; sleep infinity"
    parts = [
        f"{{ {install} ; }} || {{ echo 'trainboard: installing the client failed, stopping the pod' >&2; {stop}; }}"
    ]
    if cwd:
        parts.append(
            f"cd {shlex.quote(cwd)} || {{ echo 'trainboard: no such directory, stopping the pod' >&2; {stop}; }}"
        )
    parts += [run, f"{_CONTROL} terminate", "sleep infinity"]
    return "bash -c " + shlex.quote("; ".join(parts))


def pod_status(pod: Mapping[str, Any] | None, *, cancelled: bool) -> JobStatus:
    """A pod as ``runpod.get_pod`` returns it (``None``: no such pod) -> a job status."""
    if pod is None:
        if cancelled:
            return JobStatus(JobState.CANCELLED, reason="pod terminated (cancelled)", native="TERMINATED")
        return JobStatus(
            JobState.LOST, reason="the pod no longer exists (terminated outside trainboard?)", native="GONE"
        )
    native = str(pod.get("desiredStatus") or "UNKNOWN")
    if native == "RUNNING":
        if pod.get("runtime"):
            return JobStatus(JobState.RUNNING, native=native)
        return JobStatus(JobState.QUEUED, reason="pod starting (pulling the image)", native=native)
    if native in ("CREATED", "RESTARTING", "PAUSED"):
        return JobStatus(JobState.QUEUED, reason=f"pod {native.lower()}", native=native)
    if native == "TERMINATED":
        if cancelled:
            return JobStatus(JobState.CANCELLED, reason="pod terminated (cancelled)", native=native)
        return JobStatus(JobState.LOST, reason="the pod was terminated outside trainboard", native=native)
    if native == "EXITED":
        return JobStatus(
            JobState.FAILED,
            reason="the pod stopped before trainboard run reported: the client install or the working "
            f"directory failed, or it was stopped in the RunPod console (its log: pod {pod.get('id')} there)",
            native=native,
        )
    return JobStatus(JobState.FAILED, reason=f"pod is {native}", native=native)


@dataclass(frozen=True)
class RunPodConfig:
    """``[providers.runpod]`` of providers.toml, validated."""

    api_key: str
    api_url: str = DEFAULT_API_URL
    gpu_type: str = DEFAULT_GPU_TYPE
    gpu_types: tuple[str, ...] = (DEFAULT_GPU_TYPE,)
    image: str = DEFAULT_IMAGE
    cloud_type: str = "ALL"
    container_disk_gb: int = 20
    install: str = DEFAULT_INSTALL
    token_secret: str | None = None
    cpu_instance_id: str = DEFAULT_CPU_INSTANCE

    @classmethod
    def from_mapping(cls, conf: Mapping[str, Any]) -> RunPodConfig:
        def text(key: str, default: str) -> str:
            v = conf.get(key, default)
            if not isinstance(v, str) or not v.strip():
                raise ValueError(f"[providers.runpod] {key} must be a non-empty string")
            return v.strip()

        api_key = conf.get("api_key") or os.environ.get("RUNPOD_API_KEY") or _credentials_key()
        if not isinstance(api_key, str) or not api_key:
            raise ValueError("[providers.runpod] needs an API key: api_key, or $RUNPOD_API_KEY")
        api_url = text("api_url", os.environ.get("RUNPOD_API_BASE_URL") or DEFAULT_API_URL).rstrip("/")
        if not api_url.startswith(("http://", "https://")):
            raise ValueError("[providers.runpod] api_url must be an http(s):// URL")
        gpu_type = text("gpu_type", DEFAULT_GPU_TYPE)
        types = conf.get("gpu_types", [gpu_type])
        if not isinstance(types, list) or not all(isinstance(t, str) and t for t in types):
            raise ValueError("[providers.runpod] gpu_types must be a list of RunPod GPU type ids")
        cloud = text("cloud_type", "ALL").upper()
        if cloud not in ("ALL", "SECURE", "COMMUNITY"):
            raise ValueError("[providers.runpod] cloud_type must be ALL, SECURE or COMMUNITY")
        disk = conf.get("container_disk_gb", 20)
        if isinstance(disk, bool) or not isinstance(disk, int) or disk < 1:
            raise ValueError("[providers.runpod] container_disk_gb must be a positive integer")
        secret = conf.get("token_secret") or None
        if secret is not None and (not isinstance(secret, str) or not _SECRET_NAME.match(secret)):
            raise ValueError("[providers.runpod] token_secret must be a RunPod secret name")
        return cls(
            api_key=api_key,
            api_url=api_url,
            gpu_type=gpu_type,
            gpu_types=tuple(dict.fromkeys([gpu_type, *types])),
            image=text("image", DEFAULT_IMAGE),
            cloud_type=cloud,
            container_disk_gb=disk,
            install=text("install", DEFAULT_INSTALL),
            token_secret=secret,
            cpu_instance_id=text("cpu_instance_id", DEFAULT_CPU_INSTANCE),
        )


def _credentials_key() -> str | None:
    """The key ``runpod config`` stored (``~/.runpod/config.toml``), read without importing the package."""
    import tomllib

    try:
        data = tomllib.loads((Path.home() / ".runpod" / "config.toml").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    key = data.get("default", {}).get("api_key")
    return key if isinstance(key, str) and key else None


@dataclass
class RunPodProvider:
    """The provider; every method blocks on HTTP (bounded by the package's 30 s timeout) and runs off the loop."""

    config: RunPodConfig
    context: ProviderContext
    name: str = "runpod"
    capabilities: Capabilities = field(init=False)
    #: pod id -> ids of the RunPod secrets made for that launch (deleted when the job is over); kept in
    #: ``<state_dir>/secrets.json`` so a restarted server still deletes them
    _secrets: dict[str, list[str]] = field(default_factory=dict)
    _cancelled: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        try:
            saved = json.loads(self._secrets_file.read_text(encoding="utf-8"))
            self._secrets = {str(k): [str(x) for x in v] for k, v in saved.items()}
        except (OSError, ValueError, AttributeError):
            self._secrets = {}
        self.capabilities = Capabilities(
            gpus=True,
            gpu_types=self.config.gpu_types,
            cpus=True,
            memory=True,
            time_limit=True,
            image=True,
            cwd=True,
            native_logs=False,
            default_image=self.config.image,
        )

    # ---- the runpod package, serialised
    @contextmanager
    def _api(self) -> Iterator[Any]:
        runpod = _import_runpod()
        with _CALL_LOCK:
            saved_key, saved_url = runpod.api_key, os.environ.get("RUNPOD_API_BASE_URL")
            runpod.api_key = self.config.api_key
            os.environ["RUNPOD_API_BASE_URL"] = self.config.api_url
            try:
                yield runpod
            except ProviderError:
                raise
            except ValueError as exc:  # the package's own checks (an unknown GPU type, ...)
                raise SpecError("resources.gpu_type", str(exc)) from None
            except Exception as exc:
                raise ProviderError(self._describe(exc)) from None
            finally:
                runpod.api_key = saved_key
                if saved_url is None:
                    os.environ.pop("RUNPOD_API_BASE_URL", None)
                else:
                    os.environ["RUNPOD_API_BASE_URL"] = saved_url

    def _describe(self, exc: Exception) -> str:
        from runpod import error  # imported already by _api

        where = f"RunPod API ({self.config.api_url})"
        if isinstance(exc, error.AuthenticationError):
            return f"{where} refused the API key: {exc}"
        if isinstance(exc, error.QueryError):
            return f"{where}: {exc}"
        import requests

        if isinstance(exc, requests.JSONDecodeError):
            return f"{where} answered with something that is not JSON"
        if isinstance(exc, requests.RequestException):
            return f"{where} cannot be reached: {type(exc).__name__}"
        return f"{where}: {type(exc).__name__}: {exc}"

    # ---- secrets (REST API v2; not in the package)
    def _rest(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.config.api_key}"}
        try:
            res = httpx.request(method, self.config.api_url + path, json=body, headers=headers, timeout=30)
        except httpx.HTTPError as exc:
            raise ProviderError(f"RunPod API ({self.config.api_url}) cannot be reached: {type(exc).__name__}") from None
        if res.status_code == 401:
            raise ProviderError(f"RunPod API ({self.config.api_url}) refused the API key")
        return res

    def _create_secret(self, name: str, value: str, run_id: str) -> str:
        res = self._rest(
            "POST", "/v2/secrets", {"name": name, "value": value, "description": f"trainboard run {run_id}"}
        )
        if res.status_code not in (200, 201):
            raise ProviderError(f"RunPod refused to store the secret {name}: HTTP {res.status_code} {res.text[:200]}")
        sid = res.json().get("id")
        if not isinstance(sid, str):
            raise ProviderError("RunPod's answer to creating a secret has no id")
        return sid

    @property
    def _secrets_file(self) -> Path:
        return self.context.state_dir / "secrets.json"

    def _save_secrets(self) -> None:
        """Called with ``_lock`` held."""
        self.context.state_dir.mkdir(parents=True, exist_ok=True)
        tmp = self._secrets_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(self._secrets), encoding="utf-8")
        tmp.replace(self._secrets_file)

    def _drop_secrets(self, pod_id: str) -> None:
        with self._lock:
            ids = self._secrets.pop(pod_id, [])
            if ids:
                self._save_secrets()
        for sid in ids:
            try:
                self._rest("DELETE", f"/v2/secrets/{sid}")
            except ProviderError as exc:  # a leftover secret of an ended run is logged, not fatal
                log.warning("could not delete RunPod secret %s: %s", sid, exc)

    # ---- the Provider protocol
    def _gpu_type(self, spec: JobSpec) -> str | None:
        """The GPU type of the pod; None: a CPU-only pod. Raises ``SpecError`` for what such a pod cannot take."""
        res = spec.resources
        if not res.gpus and not res.gpu_type:
            instance = self.config.cpu_instance_id
            if res.cpus is not None:
                raise SpecError(
                    "resources.cpus", f"a CPU-only pod's size is its instance type ({instance}); cpus sizes GPU pods"
                )
            if res.memory_mb is not None:
                raise SpecError(
                    "resources.memory_mb",
                    f"a CPU-only pod's size is its instance type ({instance}); memory_mb sizes GPU pods",
                )
            return None
        gpu_type = res.gpu_type or self.config.gpu_type
        if gpu_type not in self.config.gpu_types:
            raise SpecError(
                "resources.gpu_type", f"{gpu_type!r} is not offered (offered: {', '.join(self.config.gpu_types)})"
            )
        return gpu_type

    def validate(self, spec: JobSpec) -> None:
        """Refuse an unoffered GPU type, or a size for a CPU-only pod, before the run is created."""
        self._gpu_type(spec)

    def deploy(self, spec: JobSpec, *, run_id: str, server_url: str, token: str | None) -> str:
        res = spec.resources
        gpu_type = self._gpu_type(spec)
        gpus = res.gpus or 1
        wrapped = wrapped_argv(spec, run_id=run_id, server_url=server_url)
        env = execution_env(spec, run_id=run_id, server_url=server_url, token=token)
        if self.config.api_url != DEFAULT_API_URL:
            env["RUNPOD_API_BASE_URL"] = self.config.api_url  # the pod's self-termination goes there too
        env["TRAINBOARD_POD_CONTROL"] = POD_CONTROL
        secret_values = {n: env[n] for n in spec.secret_names if n in env}
        if token:
            secret_values["TRAINBOARD_TOKEN"] = token
        made: list[str] = []
        tag = re.sub(r"[^A-Za-z0-9_]", "_", run_id)
        try:
            for var, value in secret_values.items():
                if var == "TRAINBOARD_TOKEN" and self.config.token_secret:
                    secret = self.config.token_secret
                else:
                    secret = f"trainboard_{tag}_{var}"
                    made.append(self._create_secret(secret, value, run_id))
                env[var] = "{{ RUNPOD_SECRET_" + secret + " }}"
            docker_args = start_command(wrapped, install=self.config.install, cwd=spec.cwd, time_limit=res.time_limit)
            size: dict[str, Any] = (
                {
                    "gpu_type_id": gql_string(gpu_type),
                    "gpu_count": gpus,
                    "min_vcpu_count": max(1, math.ceil(res.cpus)) if res.cpus else 1,
                    "min_memory_in_gb": max(1, math.ceil(res.memory_mb / 1024)) if res.memory_mb else 1,
                }
                if gpu_type is not None
                else {"gpu_type_id": None, "instance_id": gql_string(self.config.cpu_instance_id)}
            )
            with self._api() as runpod:
                pod = runpod.create_pod(
                    name=gql_string(spec.name or f"trainboard-{run_id[:12]}"),
                    image_name=gql_string(spec.image or self.config.image),
                    cloud_type=self.config.cloud_type,
                    container_disk_in_gb=self.config.container_disk_gb,
                    docker_args=gql_string(docker_args),
                    env={gql_string(k): gql_string(v) for k, v in env.items()},
                    support_public_ip=False,
                    start_ssh=True,
                    **size,
                )
        except BaseException:
            for sid in made:
                try:
                    self._rest("DELETE", f"/v2/secrets/{sid}")
                except ProviderError:
                    pass
            raise
        pod_id = pod.get("id") if isinstance(pod, dict) else None
        if not isinstance(pod_id, str) or not pod_id:
            raise ProviderError("RunPod created no pod (its answer has no pod id)")
        with self._lock:
            if made:
                self._secrets[pod_id] = made
                self._save_secrets()
        return pod_id

    def find(self, run_id: str) -> str | None:
        """The pod created for ``run_id``: the one whose environment names the run (pod names are not unique)."""
        want = f"TRAINBOARD_LAUNCH_RUN_ID={run_id}"
        with self._api() as runpod:
            pods = runpod.get_pods() or []
        for pod in pods:
            env = pod.get("env") if isinstance(pod, dict) else None
            if isinstance(env, list) and want in env and isinstance(pod.get("id"), str):
                return str(pod["id"])
        return None

    def status(self, job_id: str) -> JobStatus:
        with self._api() as runpod:
            pod = runpod.get_pod(gql_string(job_id))
        with self._lock:
            cancelled = job_id in self._cancelled
        st = pod_status(pod, cancelled=cancelled)
        if st.state.finished:
            self._drop_secrets(job_id)
        return st

    def cancel(self, job_id: str) -> None:
        with self._lock:
            self._cancelled.add(job_id)
        with self._api() as runpod:
            if runpod.get_pod(gql_string(job_id)) is not None:
                # terminate = docker stop: SIGTERM, then SIGKILL after the container's grace period
                runpod.terminate_pod(gql_string(job_id))
        self._drop_secrets(job_id)

    def logs(self, job_id: str, limit: int = 65536, offset: int = 0) -> bytes:
        """RunPod offers no API for a pod's container log (it is in the RunPod console): nothing to return."""
        return b""

    def reachable(self) -> Reachability:
        # the same document runpod.get_gpus() sends, with a short timeout: a cheap call that checks the key
        _import_runpod()
        from runpod.api.queries.gpus import QUERY_GPU_TYPES

        headers = {"Authorization": f"Bearer {self.config.api_key}", "Content-Type": "application/json"}
        try:
            res = httpx.post(
                self.config.api_url + "/graphql", json={"query": QUERY_GPU_TYPES}, headers=headers, timeout=5
            )
        except httpx.HTTPError as exc:
            return Reachability(False, f"{self.config.api_url} cannot be reached: {type(exc).__name__}")
        if res.status_code == 401:
            return Reachability(False, f"{self.config.api_url} refused the API key")
        try:
            body = res.json()
        except ValueError:
            return Reachability(False, f"{self.config.api_url} answered HTTP {res.status_code}, not JSON")
        if "errors" in body:
            return Reachability(False, f"{self.config.api_url}: {body['errors'][0].get('message')}")
        return Reachability(True, f"{self.config.api_url} answers (GPU types: {len(body['data']['gpuTypes'] or [])})")


def create(config: Mapping[str, Any], context: ProviderContext) -> RunPodProvider:
    """The registry's factory: ``[providers.runpod]`` settings -> the provider (``ValueError`` names the key)."""
    _import_runpod()  # a missing package is reported by GET /api/providers at once
    return RunPodProvider(RunPodConfig.from_mapping(config), context)
