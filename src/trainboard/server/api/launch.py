"""Launching runs: ``GET /api/providers``, ``POST /api/launch``, ``POST /api/runs/{id}/cancel``, the launch record
and the provider's native log of a launched run. Thin: the launch service (``providers.service``) does the work.

Off unless the server runs with ``--allow-launch`` (404 naming the flag; ``GET /api/providers`` says so too).
Launching needs the launch permission now (``Identity.can_launch``: an admin, or an editor an admin granted launch,
through a session or a ``launch``/``admin`` token); cancelling also needs to be the run's launcher or an admin
(403). The permission table lets ``launch``-scoped tokens reach these two routes.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, NoReturn

from fastapi import APIRouter, HTTPException, Query, Request, Response
from pydantic import BaseModel, Field, field_validator
from starlette.concurrency import run_in_threadpool

from trainboard.server.api import budgets
from trainboard.server.api.errors import invalid
from trainboard.server.api.schemas import JSON_DOC_RULES, InModel, RunPublic
from trainboard.server.auth.audit import client_ip
from trainboard.server.auth.identity import Caller, Identity
from trainboard.server.providers.base import JobSpec, Resources, SpecError
from trainboard.server.providers.registry import env_allowed
from trainboard.server.providers.service import LaunchError, LaunchService, who
from trainboard.server.state import AppState, State
from trainboard.server.store import launches
from trainboard.server.store import runs as runs_store
from trainboard.wire import MAX_JSON_INT

router = APIRouter(tags=["launch"])

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
_OFF = "launching is off on this server: start it with `trainboard serve --allow-launch --launch-root DIR`"
MAX_NATIVE_PAGE = 1024 * 1024


class ResourcesIn(InModel):
    cpus: float | None = Field(None, gt=0, le=4096, description="CPU cores")
    gpus: int = Field(0, ge=0, le=64, description="GPUs")
    gpu_type: str | None = Field(None, min_length=1, max_length=128, description="GPU model (RunPod's GPU type id)")
    memory_mb: int | None = Field(None, ge=1, le=2**31, description="Memory limit in MiB")
    time_limit: int | None = Field(None, ge=1, le=366 * 86400, description="Wall-clock limit in seconds")


class VolumeIn(InModel):
    id: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9_-]{1,64}$",
        description="A RunPod network volume (it outlives the pod; checkpoints go there). null: none",
    )
    size_gb: int | None = Field(
        None, ge=0, le=10_000, description="Without an id: a pod volume of this size (gone with the pod); 0: none"
    )
    mount_path: str | None = Field(
        None, pattern=r'^/[^"\\\x00]{0,255}$', description="Where the volume is mounted (an absolute path)"
    )


class RunPodOptionsIn(InModel):
    """Per-launch RunPod settings overriding `[providers.runpod]` for this launch (left out: the file's)."""

    volume: VolumeIn | None = None
    interruptible: bool | None = Field(None, description="A spot pod: cheaper, taken back when outbid")
    bid_per_gpu: float | None = Field(None, gt=0, lt=1000, description="The spot bid, $/GPU/hour")
    data_center_id: str | None = Field(None, pattern=r"^[A-Z0-9-]{1,32}$", description="e.g. EU-RO-1")
    cuda_versions: list[Annotated[str, Field(pattern=r"^\d{1,3}\.\d{1,3}$")]] | None = Field(
        None, max_length=16, description='Only hosts with one of these CUDA versions ("12.4")'
    )


#: The program word may hold no NUL and none of the ASCII spaces a shell splits on (the rule is stated in the
#: schema, so it is the same ASCII set here rather than Python's wider idea of whitespace).
PROGRAM_SPACE = "[\x00\t\n\x0b\x0c\r ]"
PROGRAM_PATTERN = "^[^\\x00\\t\\n\\x0b\\x0c\\r ]+$"
WORD_PATTERN = "^[^\\x00]*$"


class LaunchRequest(InModel):
    provider: str = Field(min_length=1, max_length=32, description="A name from `GET /api/providers`")
    argv: list[str] = Field(
        min_length=1,
        max_length=4096,
        description="The command as a list of words, run without a shell (a string or a shell command line is "
        'refused): `["python", "train.py", "--lr", "0.001"]`. The program (the first word) is not empty and has '
        "no spaces, tabs or line breaks; no word holds NUL or more than 65536 characters",
        json_schema_extra={
            "items": {"type": "string", "maxLength": 65536, "pattern": WORD_PATTERN},
            "prefixItems": [{"type": "string", "minLength": 1, "pattern": PROGRAM_PATTERN}],
        },
    )
    env: dict[str, str] = Field(
        default_factory=dict,
        description="Environment variables from the server's allowlist (CUDA_VISIBLE_DEVICES, OMP_NUM_THREADS, "
        "HF_*, ... and `env_allowlist` in providers.toml); stored with the run",
    )
    secrets: dict[str, str] = Field(
        default_factory=dict,
        description="Environment variables passed to the job but never stored, shown or logged (API keys). "
        "Any name except TRAINBOARD_*, LD_*, PATH, PYTHONPATH and the like",
    )
    cwd: str | None = Field(
        None, max_length=4096, description="Working directory (local: inside --launch-root, symlinks resolved)"
    )
    resources: ResourcesIn | None = Field(None, description="What the job asks for (provider defaults when left out)")
    image: str | None = Field(None, min_length=1, max_length=512, description="Container image (RunPod)")
    name: str | None = Field(None, min_length=1, max_length=512)
    project: str = Field("default", min_length=1, max_length=256)
    config: dict[str, Any] = Field(default_factory=dict, description=JSON_DOC_RULES)
    runpod: RunPodOptionsIn | None = Field(None, description="RunPod settings for this launch (runpod provider)")
    resume_from: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9_.:-]{1,64}$",
        description="Run again from this run's last checkpoint: the job gets TRAINBOARD_RESUME_FROM (its path) "
        "and both runs an event naming the other",
    )

    @field_validator("argv")
    @classmethod
    def _words(cls, argv: list[str]) -> list[str]:
        for i, word in enumerate(argv):
            if "\x00" in word or len(word) > 65536:
                raise ValueError(f"argv[{i}] must be at most 65536 characters without NUL")
        if not argv[0]:
            raise ValueError("argv[0] (the program) must not be empty")
        if re.search(PROGRAM_SPACE, argv[0]):
            raise ValueError(
                "argv[0] contains whitespace: that is a shell command line; send each word as its own list item "
                '(["python", "train.py"], not ["python train.py"]); no shell is involved'
            )
        return argv


class ProviderOut(BaseModel):
    name: str
    reachable: bool
    detail: str
    capabilities: dict[str, Any]


class ProviderList(BaseModel):
    enabled: bool = Field(description="Whether this server launches runs at all (`--allow-launch`)")
    providers: list[ProviderOut]
    env_allowlist: list[str] = Field(description="Environment names (shell patterns) a launch may set")
    detail: str | None = None


class LaunchRecord(BaseModel):
    run_id: str
    provider: str
    job_id: str | None
    launched_by: str | None
    launched_at: float
    state: str = Field(description="The job's last observed state: queued, running, completed, failed, cancelled, lost")
    native_state: str | None = Field(description="The provider's own word for it (PENDING, EXITED ...)")
    reason: str | None
    exit_code: int | None
    finished: bool
    cancel_requested_at: float | None
    cancelled_by: str | None
    spec: dict[str, Any] = Field(description="argv, env (no secrets), secret names, cwd, resources, image")


def _service(state: AppState) -> LaunchService:
    if not state.settings.allow_launch:  # 404: on this server the launch routes are not there
        raise HTTPException(status_code=404, detail=_OFF)
    service = state.extras.get("launch")
    if not isinstance(service, LaunchService):
        raise HTTPException(status_code=503, detail="the launch service is not running")
    return service


def _may_launch(caller: Identity, what: str) -> None:
    if caller.can_launch:
        return
    who = f"user {caller.user!r} (role {caller.role})" if caller.user else "this token"
    raise HTTPException(
        status_code=403,
        detail=f"{what} needs the launch permission (an admin, or an editor an admin granted launch, with a session "
        f"or a token of the launch scope); {who} has none",
    )


async def _may_cancel(state: AppState, caller: Identity, run_id: str) -> None:
    """Cancelling stops someone's job: the launcher themselves, or an admin."""
    _may_launch(caller, "cancelling")
    if not caller.auth or caller.acts_as_admin:
        return

    def launcher() -> tuple[bool, str | None]:
        with state.engines.reader.connect() as conn:
            found = launches.get_launch(conn, run_id=run_id)
        return found is not None, None if found is None else found["launched_by"]

    known, by = await run_in_threadpool(launcher)
    if known and by != who(caller):  # a service token's launch records its name (service.who)
        raise HTTPException(
            status_code=403, detail=f"run {run_id!r} was launched by {by!r}: only they or an admin may cancel it"
        )


def _raise(exc: LaunchError) -> NoReturn:
    if exc.status == 422 and exc.field:
        invalid(["body", *exc.field.split(".")], exc.message)
    raise HTTPException(status_code=exc.status, detail=exc.message)


@router.get("/api/providers", response_model=ProviderList)
async def list_providers(state: State) -> ProviderList:
    """The configured providers, whether each answers now, and what each supports."""
    service = state.extras.get("launch")
    if not state.settings.allow_launch or not isinstance(service, LaunchService):
        return ProviderList(enabled=False, providers=[], env_allowlist=[], detail=_OFF)
    found = await service.describe()
    return ProviderList(
        enabled=True,
        providers=[ProviderOut(**p) for p in found],
        env_allowlist=list(service.registry.config.env_allowlist),
    )


def _spec(body: LaunchRequest, service: LaunchService) -> JobSpec:
    allow = service.registry.config.env_allowlist
    for key in body.env:
        if not _ENV_NAME.match(key):
            invalid(["body", "env", key], "not a valid environment variable name")
        if not env_allowed(key, allow):
            invalid(
                ["body", "env", key], f"{key!r} is not in the server's environment allowlist (pass API keys as secrets)"
            )
    for key in body.secrets:
        if not _ENV_NAME.match(key):
            invalid(["body", "secrets", key], "not a valid environment variable name")
        if not env_allowed(key, ("*",)):
            invalid(["body", "secrets", key], f"{key!r} may not be set by a launch")
        if key in body.env:
            invalid(["body", "secrets", key], f"{key!r} is also in env")
    res = body.resources or ResourcesIn.model_construct(
        cpus=None, gpus=0, gpu_type=None, memory_mb=None, time_limit=None
    )
    return JobSpec(
        argv=tuple(body.argv),
        env={**body.env, **body.secrets},
        secret_names=frozenset(body.secrets),
        cwd=body.cwd,
        resources=Resources(
            cpus=res.cpus, gpus=res.gpus, gpu_type=res.gpu_type, memory_mb=res.memory_mb, time_limit=res.time_limit
        ),
        image=body.image,
        name=body.name,
        project=body.project,
        config=body.config,
        options=body.runpod.model_dump(exclude_unset=True) if body.runpod is not None else {},
    )


@router.post(
    "/api/launch",
    response_model=RunPublic,
    status_code=201,
    responses={
        403: {"description": "The caller may not launch (not an admin, no launch grant, or not a launch token)"},
        404: {"description": "Launching is off on this server (no --allow-launch)"},
    },
)
async def launch_run(body: LaunchRequest, request: Request, state: State, caller: Caller) -> RunPublic:
    """Start ``argv`` on ``provider`` as a new run (status ``queued`` until ``trainboard run`` takes over on the
    execution side). Returns the run; ``GET /api/runs/{id}/launch`` has the provider's job id."""
    service = _service(state)
    _may_launch(caller, "launching")
    spec = _spec(body, service)
    try:
        provider = service.provider(body.provider)
        validate = getattr(provider, "validate", None)
        if validate is not None:
            validate(spec)
        row = await service.launch(
            provider_name=body.provider, spec=spec, caller=caller, ip=client_ip(request), resume_from=body.resume_from
        )
    except SpecError as exc:
        invalid(["body", *exc.field.split(".")], exc.message)
    except LaunchError as exc:
        _raise(exc)
    return RunPublic.from_row(row)


@router.post(
    "/api/runs/{run_id}/cancel",
    response_model=RunPublic,
    responses={
        403: {"description": "The caller may not launch, or is neither the run's launcher nor an admin"},
        409: {"description": "The run exists but this server does not launch (nothing of it to cancel here)"},
    },
)
async def cancel_run(run_id: str, request: Request, state: State, caller: Caller) -> RunPublic:
    """Stop a launched run's job: SIGTERM / stop / scancel / terminate, forced after the grace period. The run
    ends ``interrupted``; the cancel is an event naming who asked. Only its launcher or an admin may cancel it."""
    if not state.settings.allow_launch:  # the run may well exist: 409 for it, 404 only for an unknown run

        def exists() -> bool:
            with state.engines.reader.connect() as conn:
                return runs_store.get_run(conn, run_id=run_id) is not None

        if await run_in_threadpool(exists):
            raise HTTPException(status_code=409, detail=_OFF)
    service = _service(state)
    await _may_cancel(state, caller, run_id)
    try:
        row = await service.cancel(run_id=run_id, caller=caller, ip=client_ip(request))
    except LaunchError as exc:
        _raise(exc)
    return RunPublic.from_row(row)


@router.get(
    "/api/runs/{run_id}/launch",
    response_model=LaunchRecord,
    responses={204: {"description": "The run exists but was not launched by this server"}},
)
async def get_launch(run_id: str, state: State) -> LaunchRecord | Response:
    """How the run was launched: provider, job id, who, the spec (no secrets) and the job's last state. A run
    started by hand answers 204 (not an error: the run page asks for every run); an unknown run 404."""
    with state.engines.reader.connect() as conn:
        found = launches.get_launch(conn, run_id=run_id)
        known = found is not None or runs_store.get_run(conn, run_id=run_id) is not None
    if found is None:
        if known:
            return Response(status_code=204)
        raise HTTPException(status_code=404, detail=f"run {run_id!r} not found")
    found.pop("token_id", None)
    return LaunchRecord(**found)


@router.get(
    "/api/runs/{run_id}/launch/logs",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}, "description": "The provider's native log bytes"}},
)
async def get_native_logs(
    run_id: str,
    state: State,
    offset: Annotated[int, Query(ge=0, le=MAX_JSON_INT)] = 0,
    limit: Annotated[int, Query(ge=0, le=MAX_NATIVE_PAGE)] = 65536,
) -> Response:
    """The provider's own log of the job (what ran before ``trainboard run`` took over: a missing module, a failed
    install; the backend's messages). The run's terminal output is at ``/api/runs/{id}/logs``."""
    service = _service(state)
    try:
        _, data = await service.native_logs(run_id, limit=limit, offset=offset)
    except LaunchError as exc:
        _raise(exc)
    return Response(
        content=data,
        media_type="application/octet-stream",
        headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"},
    )


router.include_router(budgets.router)
