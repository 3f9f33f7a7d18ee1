"""Which rank of a distributed job this process is, read from the launcher's environment.

Launchers recognised (first match wins, in this order, because several stack: ``accelerate launch`` and
DeepSpeed start their processes through torch.distributed.elastic, and torchrun may run inside an ``srun`` step):

- torch.distributed.elastic (``torchrun``): ``RANK``, ``LOCAL_RANK``, ``WORLD_SIZE``, ``LOCAL_WORLD_SIZE``,
  ``GROUP_RANK`` (the node), job id ``TORCHELASTIC_RUN_ID`` (``--rdzv-id``); reported as ``accelerate`` when an
  ``ACCELERATE_*`` variable is set, ``deepspeed`` when a DeepSpeed one is;
- DeepSpeed's own launcher (``RANK`` ... with ``CROSS_RANK`` / ``LOCAL_SIZE``);
- SLURM ``srun`` steps: ``SLURM_PROCID``, ``SLURM_LOCALID``, ``SLURM_NODEID``, ``SLURM_NTASKS``, job id
  ``SLURM_JOB_ID`` + ``SLURM_STEP_ID`` (a batch script has no step id and is not a rank);
- Open MPI (``OMPI_COMM_WORLD_RANK`` ...), MPICH / Intel MPI (``PMI_RANK``, ``MPI_LOCALRANKID``) and PMIx
  (``PMIX_RANK``, ``PMIX_NAMESPACE``).

The run id all ranks share (:func:`shared_run_id`): ``$TRAINBOARD_RUN_ID`` when a wrapper (``trainboard run``)
set it, else one derived from the launcher's job id only — never from the clock or a random number — so ranks
on nodes that cannot talk to each other agree on it. Stdlib only: this runs inside training.
"""

from __future__ import annotations

import hashlib
import os
import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["LAUNCHERS", "MAX_RANK", "RankInfo", "derived_run_id", "detect", "gpus_of", "shared_run_id"]

#: The values of a rank record's ``launcher`` (the wire format).
LAUNCHERS = ("torchrun", "accelerate", "deepspeed", "slurm", "mpi", "unknown")
#: Highest rank the server accepts.
MAX_RANK = 1_048_575
_SAFE = re.compile(r"[^A-Za-z0-9_-]+")


@dataclass(frozen=True, slots=True)
class RankInfo:
    """One process's place in a distributed job. ``job_id`` is what the launcher calls the job (``None`` when it
    names none); ``job_id_unique`` is False when that name is a default shared by other jobs (torchrun's
    ``none``), so a run id derived from it could collide with an earlier job's."""

    rank: int
    launcher: str
    world_size: int | None = None
    local_rank: int | None = None
    local_world_size: int | None = None
    node_rank: int | None = None
    job_id: str | None = None
    job_id_unique: bool = True
    node: str = ""

    @property
    def owns_lifecycle(self) -> bool:
        """Without a wrapper, global rank 0 creates the run and sets its final status."""
        return self.rank == 0

    def record(self, env: Mapping[str, str] | None = None, pid: int | None = None) -> dict[str, object]:
        """The body of ``PUT /api/runs/{id}/ranks/{rank}`` registering this rank (fields that are known)."""
        body: dict[str, object] = {
            "launcher": self.launcher,
            "node": self.node,
            "pid": os.getpid() if pid is None else pid,
        }
        for key in ("local_rank", "node_rank", "world_size"):
            value = getattr(self, key)
            if value is not None:
                body[key] = value
        env = os.environ if env is None else env
        gpus = gpus_of(self, env, gpu_count=_nvml_gpu_count() if "CUDA_VISIBLE_DEVICES" not in env else None)
        if gpus is not None:
            body["gpus"] = gpus
        return body


def _int(env: Mapping[str, str], *names: str) -> int | None:
    for name in names:
        raw = env.get(name)
        if raw is None or not raw.strip():
            continue
        try:
            value = int(raw.strip())
        except ValueError:
            continue
        if value >= 0:
            return value
    return None


def _first(env: Mapping[str, str], *names: str) -> str | None:
    for name in names:
        raw = env.get(name)
        if raw:
            return raw
    return None


def detect(env: Mapping[str, str] | None = None, *, hostname: str | None = None) -> RankInfo | None:
    """This process's rank from ``env`` (default ``os.environ``), or ``None`` outside a distributed launcher (or
    in a job of one process: a world of size 1 is an ordinary run)."""
    env = os.environ if env is None else env
    node = hostname if hostname is not None else socket.gethostname()
    info = _torch_elastic(env, node) or _deepspeed(env, node) or _slurm(env, node) or _mpi(env, node)
    if info is None or info.rank > MAX_RANK:
        return None
    if info.world_size is not None and info.world_size <= 1:
        return None
    return info


def _torch_elastic(env: Mapping[str, str], node: str) -> RankInfo | None:
    rank = _int(env, "RANK")
    if rank is None or ("TORCHELASTIC_RUN_ID" not in env and "GROUP_RANK" not in env):
        return None
    launcher = "torchrun"
    if any(k.startswith("ACCELERATE_") for k in env):
        launcher = "accelerate"
    elif any(k.startswith(("DEEPSPEED_", "DS_")) for k in env):
        launcher = "deepspeed"
    job = env.get("TORCHELASTIC_RUN_ID") or None
    unique = job is not None and job != "none"
    world, local_world = _int(env, "WORLD_SIZE"), _int(env, "LOCAL_WORLD_SIZE")
    if not unique and world is not None and world == local_world:
        # one node with torchrun's default rendezvous id "none": the agent's own temporary folder (named in
        # every worker's error-file path) is unique to this launch
        agent_dir = (env.get("TORCHELASTIC_ERROR_FILE") or "").split("/attempt_")[0]
        if agent_dir:
            job, unique = f"{node}:{agent_dir}", True
    if not unique and job is None:
        master = f"{env.get('MASTER_ADDR', '')}:{env.get('MASTER_PORT', '')}"
        job = f"master={master}" if master != ":" else None
    return RankInfo(
        rank=rank,
        launcher=launcher,
        world_size=world,
        local_rank=_int(env, "LOCAL_RANK"),
        local_world_size=local_world,
        node_rank=_int(env, "GROUP_RANK"),
        job_id=job,
        job_id_unique=unique,
        node=node,
    )


def _deepspeed(env: Mapping[str, str], node: str) -> RankInfo | None:
    rank = _int(env, "RANK")
    if rank is None or ("CROSS_RANK" not in env and "LOCAL_SIZE" not in env):
        return None
    master = f"{env.get('MASTER_ADDR', '')}:{env.get('MASTER_PORT', '')}"
    return RankInfo(
        rank=rank,
        launcher="deepspeed",
        world_size=_int(env, "WORLD_SIZE"),
        local_rank=_int(env, "LOCAL_RANK"),
        local_world_size=_int(env, "LOCAL_SIZE"),
        node_rank=_int(env, "CROSS_RANK"),
        job_id=f"master={master}",
        job_id_unique=False,
        node=node,
    )


def _slurm(env: Mapping[str, str], node: str) -> RankInfo | None:
    rank = _int(env, "SLURM_PROCID")
    step = _first(env, "SLURM_STEP_ID", "SLURM_STEPID")
    job = _first(env, "SLURM_JOB_ID", "SLURM_JOBID")
    if rank is None or step is None or job is None:
        return None
    return RankInfo(
        rank=rank,
        launcher="slurm",
        world_size=_int(env, "SLURM_STEP_NUM_TASKS", "SLURM_NTASKS", "SLURM_NPROCS"),
        local_rank=_int(env, "SLURM_LOCALID"),
        local_world_size=_tasks_here(env),
        node_rank=_int(env, "SLURM_NODEID"),
        job_id=f"{job}.{step}",
        node=node,
    )


def _tasks_here(env: Mapping[str, str]) -> int | None:
    """Tasks of the step on this node: ``SLURM_STEP_TASKS_PER_NODE`` is e.g. ``4`` or ``2(x3),1``."""
    raw = env.get("SLURM_STEP_TASKS_PER_NODE") or env.get("SLURM_TASKS_PER_NODE")
    node = _int(env, "SLURM_NODEID")
    if not raw or node is None:
        return None
    counts: list[int] = []
    for part in raw.split(","):
        m = re.fullmatch(r"(\d+)(?:\(x(\d+)\))?", part.strip())
        if m is None:
            return None
        counts.extend([int(m.group(1))] * int(m.group(2) or 1))
    return counts[node] if node < len(counts) else None


def _mpi(env: Mapping[str, str], node: str) -> RankInfo | None:
    rank = _int(env, "OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK")
    if rank is None:
        return None
    job = _first(env, "PMIX_NAMESPACE", "OMPI_MCA_ess_base_jobid", "OMPI_MCA_orte_ess_jobid", "PMI_KVSNAME")
    return RankInfo(
        rank=rank,
        launcher="mpi",
        world_size=_int(env, "OMPI_COMM_WORLD_SIZE", "PMI_SIZE"),
        local_rank=_int(env, "OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", "PMI_LOCAL_RANK"),
        local_world_size=_int(env, "OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS", "PMI_LOCAL_SIZE"),
        job_id=job,
        node=node,
    )


def derived_run_id(launcher: str, job_id: str) -> str:
    """The run id every rank of job ``job_id`` computes alike: ``<launcher>-<16 hex digits of a SHA-256>``.
    ``accelerate`` and ``deepspeed`` jobs started through torch.distributed.elastic hash as ``torchrun`` ones,
    so a wrapper that reads the rendezvous id from the command line finds the same id."""
    family = "torchrun" if launcher in ("accelerate", "deepspeed") and not job_id.startswith("master=") else launcher
    digest = hashlib.sha256(f"{family}\0{job_id}".encode()).hexdigest()[:16]
    return f"{_SAFE.sub('-', family)[:20]}-{digest}"


def shared_run_id(info: RankInfo | None, env: Mapping[str, str] | None = None) -> str | None:
    """The run this rank records into: ``$TRAINBOARD_RUN_ID``, else derived from the launcher's job id; ``None``
    when neither exists (the process then makes its own run)."""
    env = os.environ if env is None else env
    given = env.get("TRAINBOARD_RUN_ID")
    if given:
        return given
    if info is None or info.job_id is None:
        return None
    return derived_run_id(info.launcher, info.job_id)


def gpus_of(info: RankInfo, env: Mapping[str, str], *, gpu_count: int | None = None) -> list[int] | None:
    """The GPU indices this rank may use, from ``CUDA_VISIBLE_DEVICES`` and its local rank: when every rank of the
    node sees the same list (torchrun), rank ``local_rank`` takes entry ``local_rank`` (``torch.cuda.set_device(
    local_rank)``, what the launchers' examples do); a list shorter than the node's ranks is this rank's own (SLURM
    ``--gpus-per-task``). Unset, every one of the ``gpu_count`` GPUs NVML counts is visible. ``[]``: no GPU visible;
    ``None``: unknown (unset without NVML, or UUID / MIG names)."""
    raw = env.get("CUDA_VISIBLE_DEVICES")
    if raw is None:
        if not gpu_count:
            return None
        raw = ",".join(str(i) for i in range(gpu_count))
    if not raw.strip():
        return []
    try:
        visible = [int(part) for part in raw.split(",") if part.strip()]
    except ValueError:
        return None
    if any(v < 0 for v in visible):  # "-1" hides every GPU
        return []
    local = info.local_rank
    shared = info.local_world_size is None or len(visible) >= info.local_world_size
    if local is not None and shared and local < len(visible) and len(visible) > 1:
        return [visible[local]]
    return visible


def _nvml_gpu_count() -> int | None:
    """GPUs on this machine by NVML (``nvidia-ml-py``), ``None`` without a driver."""
    try:
        import pynvml
    except ImportError:
        return None
    try:
        pynvml.nvmlInit()
    except Exception:  # no driver, no library: no GPU to map
        return None
    try:
        return int(pynvml.nvmlDeviceGetCount())
    except Exception:
        return None
    finally:
        try:
            pynvml.nvmlShutdown()
        except Exception:
            pass
