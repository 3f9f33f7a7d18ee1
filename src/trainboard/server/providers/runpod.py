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
network_volume_id = "abc123xyz"      # a network volume to attach (it outlives the pod): checkpoints go there
volume_in_gb = 0                     # else a pod volume of this size (kept while the pod exists, not after)
volume_mount_path = "/workspace"     # where the volume is mounted in the pod
data_center_id = "EU-RO-1"           # only this data centre (a network volume's own is found when left out)
allowed_cuda_versions = ["12.4", "12.6"]  # only hosts with one of these CUDA versions
interruptible = false                # spot pods (podRentInterruptable): cheaper, taken back when outbid
bid_per_gpu = 0.35                   # the spot bid, $/GPU/hour (needed with interruptible = true)
```

Volumes: with a network volume (or a pod volume) the job's environment has ``TRAINBOARD_CHECKPOINT_DIR`` =
``<volume_mount_path>/trainboard/<run id>`` (created by the start command): training code that saves its
checkpoints there (``monitor.save_checkpoint(os.environ["TRAINBOARD_CHECKPOINT_DIR"] + "/step_100.pt")``) keeps
them after the pod is gone; the container disk goes with the pod.

Spot pods: RunPod stops an interruptible pod when it is outbid. The run ends ``interrupted`` with the reason
``preempted`` (unless ``trainboard run`` ended it first) and the stopped pod is terminated, so it does not keep
a volume billing. The pod's GPU name (``machine.gpuDisplayName``) and price (``costPerHr``) are kept with the
launch (``spec.job``) as soon as the pod reports them, so they survive the pod.

A launch asking for no GPUs (``resources.gpus`` 0 and no ``gpu_type``) gets a CPU-only pod: ``create_pod``
without a GPU type sends RunPod's ``deployCpuPod`` with ``cpu_instance_id`` as its ``instanceId`` (the package
adds its ``runpod-ubuntu`` template). Such a pod's size is its instance type, so ``cpus`` and ``memory_mb`` are
refused for it (they size GPU pods). A ``gpu_type`` without a count means one GPU of that type.

The pod's start command installs the client, then runs ``trainboard run --run-id ID --url PUBLIC_URL -- argv``
(``public_url`` in providers.toml must be an address the pod can reach), so the job's output, metrics and exit
code stream into the run live. When it ends the pod terminates itself (through RunPod's API, with the pod-scoped
``$RUNPOD_API_KEY`` RunPod puts in every pod): an exited container would otherwise be restarted and the command
run again. If the install (or the ``cd``) fails, the start command sends what the install printed to the run's
terminal log and ends the run ``failed`` with the install's exit code (``$TRAINBOARD_POD_REPORT``, through
trainboard's HTTP API with the run's token: the client is what failed to install), then *terminates* the pod:
a stopped pod keeps billing its volume. RunPod has no API for a pod's log, which is why ``logs()`` has nothing
to return; the output is in the run. A pod gone after its run ended is the normal end, not a lost job.

When the server serves HTTPS with a private CA, the CA travels in ``$TRAINBOARD_CA_PEM`` and the start command
writes it to a file named by ``TRAINBOARD_CA_BUNDLE`` before anything reaches the server.

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

import dataclasses
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
    ca_shell,
    execution_env,
    shell_command,
    wrapped_argv,
)
from trainboard.server.providers.runpod_options import RUNPOD_OPTIONS, for_launch

__all__ = [
    "POD_CONTROL",
    "POD_REPORT",
    "RunPodConfig",
    "RunPodProvider",
    "create",
    "gql_string",
    "gql_value",
    "pod_details",
    "pod_status",
    "start_command",
]

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

# What the pod runs when the install (or the cd) failed: argv[1] the exit code, argv[2] the captured output.
# The client is what failed, so this speaks trainboard's HTTP API itself (standard library only): the output
# goes to the run's terminal log, the run ends failed with that exit code. Best effort: errors are ignored (the
# server then sees the pod gone while the run is queued).
POD_REPORT = (
    "import base64,json,os,ssl,sys,urllib.request as u\n"
    "b=os.environ['TRAINBOARD_URL'].rstrip('/');r=os.environ['TRAINBOARD_LAUNCH_RUN_ID']\n"
    "t=os.environ.get('TRAINBOARD_TOKEN');a=os.environ.get('TRAINBOARD_CA_BUNDLE')\n"
    "c=ssl.create_default_context(cafile=a) if a else None\n"
    "h={'Content-Type':'application/json','X-Trainboard':'1'}\n"
    "t and h.update(Authorization='Bearer '+t)\n"
    "d=open(sys.argv[2],'rb').read()[-(1<<20):]\n"
    "def s(m,p,o):u.urlopen(u.Request(b+p,json.dumps(o).encode(),h,method=m),timeout=30,context=c).read()\n"
    "s('POST','/api/runs/'+r+'/logs/raw',{'chunks':[{'source':'stdout','data':base64.b64encode(d).decode()}]})\n"
    "s('PUT','/api/runs/'+r,{'status':'failed','exit_code':int(sys.argv[1]),'reason':sys.argv[3][:500]})\n"
)
_LOG = "/tmp/trainboard-start.log"


def start_command(
    wrapped: list[str], *, install: str, cwd: str | None, time_limit: int | None, checkpoint_dir: str | None = None
) -> str:
    """The pod's start command (RunPod's ``dockerArgs``): ``bash -c SCRIPT``, one line, every user word quoted.

    SCRIPT writes the server's CA when it has one (:func:`ca_shell`), creates ``checkpoint_dir`` (on the volume),
    installs the client (``install`` is the operator's shell text from providers.toml) with its output kept,
    changes to ``cwd``, runs the wrapped argv (under ``timeout`` when there is a time limit: SIGTERM, then SIGKILL
    30 s later, which ``trainboard run`` records as an interrupted run), then terminates the pod. A failed install
    or ``cd`` reports its output and exit code to the run (``POD_REPORT``) and terminates the pod. It ends in
    ``sleep infinity`` so the container never exits (RunPod would restart it and run the command again) while the
    termination takes effect.
    """
    run = shell_command(wrapped)
    if time_limit:
        run = f"timeout --signal=TERM --kill-after=30 {int(time_limit)} {run}"
    fail = (
        'tb_fail() { echo "trainboard: $2 (exit $1), terminating the pod" | tee -a ' + _LOG + " >&2; "
        'python3 -c "$TRAINBOARD_POD_REPORT" "$1" ' + _LOG + ' "$2 (exit $1)"; '
        f"{_CONTROL} terminate; sleep infinity; }}"
    )
    parts = [ca_shell(), fail]
    if checkpoint_dir:
        parts.append(f"mkdir -p {shlex.quote(checkpoint_dir)}")
    parts += [
        f"{{ {install} ; }} 2>&1 | tee {_LOG}",
        "rc=${PIPESTATUS[0]}",
        '[ "$rc" -eq 0 ] || tb_fail "$rc" "installing the client failed"',
    ]
    if cwd:
        parts.append(f'cd {shlex.quote(cwd)} 2>>{_LOG} || tb_fail 1 "no such directory"')
    parts += [run, f"{_CONTROL} terminate", "sleep infinity"]
    return "bash -c " + shlex.quote("; ".join(parts))


def pod_details(pod: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """What to keep of a pod once it is gone: its GPU's name and its price (``costPerHr``, $/hour)."""
    if not pod:
        return None
    machine = pod.get("machine") if isinstance(pod.get("machine"), dict) else {}
    cost = pod.get("costPerHr")
    details = {
        "pod_id": pod.get("id"),
        "gpu_name": machine.get("gpuDisplayName") if machine else None,
        "gpu_count": pod.get("gpuCount"),
        "cost_per_hr": float(cost) if isinstance(cost, int | float) and not isinstance(cost, bool) else None,
    }
    return {k: v for k, v in details.items() if v is not None} or None


def pod_status(pod: Mapping[str, Any] | None, *, cancelled: bool, interruptible: bool = False) -> JobStatus:
    """A pod as ``runpod.get_pod`` returns it (``None``: no such pod) -> a job status. A pod that is gone
    while its run has ended is the normal end (the launch service records it so); ``lost`` otherwise."""
    if pod is None:
        if cancelled:
            return JobStatus(JobState.CANCELLED, reason="pod terminated (cancelled)", native="TERMINATED")
        return JobStatus(
            JobState.LOST,
            reason="the pod no longer exists before its run ended: terminated outside trainboard, or its start "
            "failed and could not reach this server to say so",
            native="GONE",
        )
    native = str(pod.get("desiredStatus") or "UNKNOWN")
    if native == "EXITED" and interruptible and not cancelled:
        return JobStatus(JobState.PREEMPTED, reason="preempted", native=native)
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
            reason="the pod stopped before trainboard run reported: it was stopped in the RunPod console "
            f"(its log: pod {pod.get('id')} there)",
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
    network_volume_id: str | None = None
    volume_in_gb: int = 0
    volume_mount_path: str = "/workspace"
    data_center_id: str | None = None
    allowed_cuda_versions: tuple[str, ...] = ()
    interruptible: bool = False
    bid_per_gpu: float | None = None

    @property
    def has_volume(self) -> bool:
        return bool(self.network_volume_id or self.volume_in_gb)

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

        def optional(key: str) -> str | None:
            v = conf.get(key)
            if v is None:
                return None
            if not isinstance(v, str) or not v.strip() or '"' in v or "\\" in v:
                raise ValueError(f"[providers.runpod] {key} must be a non-empty string (no quotes)")
            return v.strip()

        volume = conf.get("volume_in_gb", 0)
        if isinstance(volume, bool) or not isinstance(volume, int) or volume < 0:
            raise ValueError("[providers.runpod] volume_in_gb must be an integer >= 0")
        mount = text("volume_mount_path", "/workspace")
        if not mount.startswith("/") or '"' in mount or "\\" in mount:
            raise ValueError("[providers.runpod] volume_mount_path must be an absolute path")
        cuda = conf.get("allowed_cuda_versions", [])
        if not isinstance(cuda, list) or not all(isinstance(v, str) and re.fullmatch(r"\d+\.\d+", v) for v in cuda):
            raise ValueError('[providers.runpod] allowed_cuda_versions must be a list of versions like "12.4"')
        spot = conf.get("interruptible", False)
        if not isinstance(spot, bool):
            raise ValueError("[providers.runpod] interruptible must be true or false")
        bid = conf.get("bid_per_gpu")
        if bid is not None and (isinstance(bid, bool) or not isinstance(bid, int | float) or not 0 < bid < 1000):
            raise ValueError("[providers.runpod] bid_per_gpu must be a price in $/GPU/hour above 0")
        if spot and bid is None:
            raise ValueError("[providers.runpod] interruptible = true needs bid_per_gpu (the spot bid, $/GPU/hour)")
        return cls(
            network_volume_id=optional("network_volume_id"),
            volume_in_gb=volume,
            volume_mount_path=mount.rstrip("/") or "/",
            data_center_id=optional("data_center_id"),
            allowed_cuda_versions=tuple(cuda),
            interruptible=spot,
            bid_per_gpu=float(bid) if bid is not None else None,
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
            options=RUNPOD_OPTIONS,
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
        """Refuse an unoffered GPU type, a size for a CPU-only pod, or per-launch options that cannot run, before
        the run is created."""
        for_launch(self.config, spec.options, gpu=self._gpu_type(spec) is not None)

    def deploy(self, spec: JobSpec, *, run_id: str, server_url: str, token: str | None) -> str:
        res = spec.resources
        gpu_type = self._gpu_type(spec)
        cfg = for_launch(self.config, spec.options, gpu=gpu_type is not None)
        gpus = res.gpus or 1
        wrapped = wrapped_argv(spec, run_id=run_id, server_url=server_url)
        env = execution_env(spec, run_id=run_id, server_url=server_url, token=token, ca_pem=self.context.ca_pem())
        if self.config.api_url != DEFAULT_API_URL:
            env["RUNPOD_API_BASE_URL"] = self.config.api_url  # the pod's self-termination goes there too
        env["TRAINBOARD_POD_CONTROL"] = POD_CONTROL
        env["TRAINBOARD_POD_REPORT"] = POD_REPORT
        checkpoints = None
        if cfg.has_volume:
            checkpoints = f"{cfg.volume_mount_path.rstrip('/')}/trainboard/{run_id}"
            env["TRAINBOARD_CHECKPOINT_DIR"] = checkpoints
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
            docker_args = start_command(
                wrapped,
                install=self.config.install,
                cwd=spec.cwd,
                time_limit=res.time_limit,
                checkpoint_dir=checkpoints,
            )
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
            name = spec.name or f"trainboard-{run_id[:12]}"
            image = spec.image or self.config.image
            if gpu_type is not None and cfg.interruptible:
                pod = self._rent_interruptible(cfg, spec, gpu_type, gpus, name, image, docker_args, env)
            else:
                placement: dict[str, Any] = {
                    "volume_in_gb": cfg.volume_in_gb,
                    "volume_mount_path": gql_string(cfg.volume_mount_path),
                    "network_volume_id": cfg.network_volume_id,
                    "data_center_id": cfg.data_center_id,
                }
                if gpu_type is not None and cfg.allowed_cuda_versions:
                    placement["allowed_cuda_versions"] = list(cfg.allowed_cuda_versions)
                with self._api() as runpod:
                    pod = runpod.create_pod(
                        name=gql_string(name),
                        image_name=gql_string(image),
                        cloud_type=self.config.cloud_type,
                        container_disk_in_gb=self.config.container_disk_gb,
                        docker_args=gql_string(docker_args),
                        env={gql_string(k): gql_string(v) for k, v in env.items()},
                        support_public_ip=False,
                        start_ssh=True,
                        **placement,
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

    def _rent_interruptible(
        self,
        cfg: RunPodConfig,
        spec: JobSpec,
        gpu_type: str,
        gpus: int,
        name: str,
        image: str,
        docker_args: str,
        env: Mapping[str, str],
    ) -> dict[str, Any]:
        """A spot pod: RunPod's ``podRentInterruptable`` mutation (the ``runpod`` package has no call for it),
        with the same fields as an on-demand pod plus ``bidPerGpu``."""
        res = spec.resources
        fields: dict[str, Any] = {
            "bidPerGpu": cfg.bid_per_gpu,
            "cloudType": _Enum(cfg.cloud_type),
            "gpuCount": gpus,
            "gpuTypeId": gpu_type,
            "name": name,
            "imageName": image,
            "dockerArgs": docker_args,
            "containerDiskInGb": cfg.container_disk_gb,
            "volumeInGb": cfg.volume_in_gb,
            "volumeMountPath": cfg.volume_mount_path,
            "minVcpuCount": max(1, math.ceil(res.cpus)) if res.cpus else 1,
            "minMemoryInGb": max(1, math.ceil(res.memory_mb / 1024)) if res.memory_mb else 1,
            "supportPublicIp": False,
            "startSsh": True,
            "env": [{"key": k, "value": v} for k, v in env.items()],
        }
        if cfg.network_volume_id:
            fields["networkVolumeId"] = cfg.network_volume_id
        if cfg.data_center_id:
            fields["dataCenterId"] = cfg.data_center_id
        if cfg.allowed_cuda_versions:
            fields["allowedCudaVersions"] = list(cfg.allowed_cuda_versions)
        query = (
            f"mutation {{ podRentInterruptable(input: {gql_value(fields)}) "
            "{ id costPerHr podType machineId machine { podHostId gpuDisplayName } } }"
        )
        headers = {"Authorization": f"Bearer {self.config.api_key}", "Content-Type": "application/json"}
        try:
            res_ = httpx.post(self.config.api_url + "/graphql", json={"query": query}, headers=headers, timeout=30)
        except httpx.HTTPError as exc:
            raise ProviderError(f"RunPod API ({self.config.api_url}) cannot be reached: {type(exc).__name__}") from None
        if res_.status_code == 401:
            raise ProviderError(f"RunPod API ({self.config.api_url}) refused the API key")
        try:
            body = res_.json()
        except ValueError:
            raise ProviderError(
                f"RunPod API ({self.config.api_url}) answered HTTP {res_.status_code}, not JSON"
            ) from None
        if body.get("errors"):
            raise ProviderError(f"RunPod API ({self.config.api_url}): {body['errors'][0].get('message')}")
        pod = (body.get("data") or {}).get("podRentInterruptable")
        return pod if isinstance(pod, dict) else {}

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
        spot = bool(pod) and pod.get("podType") == "INTERRUPTABLE"
        st = pod_status(pod, cancelled=cancelled, interruptible=spot)
        details = pod_details(pod)
        if details is not None:
            st = dataclasses.replace(st, details=details)
        if st.state == JobState.PREEMPTED:  # a stopped spot pod still bills its volume: end it
            with self._api() as runpod:
                runpod.terminate_pod(gql_string(job_id))
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


class _Enum(str):
    """A GraphQL enum value: written bare, not quoted (``cloudType: SECURE``)."""


def gql_value(value: Any) -> str:
    """``value`` as a GraphQL input literal: strings quoted and escaped (:func:`gql_string`), enums bare, lists and
    objects recursively. Nothing the user sent can end the literal early."""
    if isinstance(value, _Enum):
        if not re.fullmatch(r"[A-Z_]+", value):
            raise ValueError(f"not a GraphQL enum value: {value!r}")
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return '"' + gql_string(value) + '"'
    if isinstance(value, list):
        return "[" + ", ".join(gql_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {gql_value(v)}" for k, v in value.items() if v is not None) + "}"
    raise TypeError(f"no GraphQL literal for {type(value).__name__}")


def create(config: Mapping[str, Any], context: ProviderContext) -> RunPodProvider:
    """The registry's factory: ``[providers.runpod]`` settings -> the provider (``ValueError`` names the key)."""
    _import_runpod()  # a missing package is reported by GET /api/providers at once
    return RunPodProvider(RunPodConfig.from_mapping(config), context)
