"""Rank detection over environments recorded from the launchers (``sdk/ranks.py``), and the run id ranks agree on."""

from __future__ import annotations

import pytest

from trainboard.sdk import ranks
from trainboard.sdk.ranks import RankInfo, derived_run_id, detect, gpus_of, shared_run_id

#: A worker's environment under `torchrun --nnodes 2 --nproc-per-node 2 --rdzv-id job-7 ...` (rank 3, node 1).
TORCHRUN = {
    "RANK": "3",
    "LOCAL_RANK": "1",
    "WORLD_SIZE": "4",
    "LOCAL_WORLD_SIZE": "2",
    "GROUP_RANK": "1",
    "GROUP_WORLD_SIZE": "2",
    "ROLE_RANK": "3",
    "TORCHELASTIC_RUN_ID": "job-7",
    "TORCHELASTIC_RESTART_COUNT": "0",
    "TORCHELASTIC_ERROR_FILE": "/tmp/torchelastic_k2j/job-7_abc/attempt_0/1/error.json",
    "MASTER_ADDR": "10.0.0.1",
    "MASTER_PORT": "29500",
}
#: An `srun -n 4 -N 2` task (rank 2, first task of node 1).
SRUN = {
    "SLURM_JOB_ID": "4242",
    "SLURM_JOBID": "4242",
    "SLURM_STEP_ID": "0",
    "SLURM_STEPID": "0",
    "SLURM_PROCID": "2",
    "SLURM_LOCALID": "0",
    "SLURM_NODEID": "1",
    "SLURM_NTASKS": "4",
    "SLURM_STEP_NUM_TASKS": "4",
    "SLURM_STEP_TASKS_PER_NODE": "2(x2)",
}
#: Open MPI 4 (`mpirun -np 8`, rank 5).
OMPI = {
    "OMPI_COMM_WORLD_RANK": "5",
    "OMPI_COMM_WORLD_SIZE": "8",
    "OMPI_COMM_WORLD_LOCAL_RANK": "1",
    "OMPI_COMM_WORLD_LOCAL_SIZE": "4",
    "OMPI_MCA_ess_base_jobid": "3962044417",
    "PMIX_RANK": "5",
    "PMIX_NAMESPACE": "prterun-host-1234@1",
}
#: MPICH / Hydra (`mpiexec -n 4`, rank 1).
MPICH = {"PMI_RANK": "1", "PMI_SIZE": "4", "MPI_LOCALRANKID": "1", "MPI_LOCALNRANKS": "4", "PMI_FD": "6"}
#: DeepSpeed's own launcher (`deepspeed --num_gpus 2 train.py`, rank 1).
DEEPSPEED = {
    "RANK": "1",
    "LOCAL_RANK": "1",
    "WORLD_SIZE": "2",
    "CROSS_RANK": "0",
    "CROSS_SIZE": "1",
    "LOCAL_SIZE": "2",
    "MASTER_ADDR": "127.0.0.1",
    "MASTER_PORT": "29500",
}


def test_torchrun_worker() -> None:
    info = detect(TORCHRUN, hostname="n1")
    assert info == RankInfo(
        rank=3,
        launcher="torchrun",
        world_size=4,
        local_rank=1,
        local_world_size=2,
        node_rank=1,
        job_id="job-7",
        node="n1",
    )
    assert not info.owns_lifecycle


def test_accelerate_and_deepspeed_on_torch_elastic_are_named_so() -> None:
    assert (info := detect(TORCHRUN | {"ACCELERATE_MIXED_PRECISION": "no"}, hostname="n")) is not None
    assert info.launcher == "accelerate"
    assert (info := detect(TORCHRUN | {"DS_ACCELERATOR": "cpu"}, hostname="n")) is not None
    assert info.launcher == "deepspeed"
    # the same job (rendezvous id) gives the same run id whoever names the launcher: the wrapper reads torchrun's
    assert shared_run_id(detect(TORCHRUN | {"ACCELERATE_USE_CPU": "1"}), {}) == derived_run_id("torchrun", "job-7")


def test_deepspeed_launcher() -> None:
    info = detect(DEEPSPEED, hostname="n")
    assert info is not None and (info.launcher, info.rank, info.node_rank, info.local_world_size) == (
        "deepspeed",
        1,
        0,
        2,
    )
    assert not info.job_id_unique  # its only job name is the master address: said, not hidden


def test_srun_task() -> None:
    info = detect(SRUN, hostname="c2")
    assert info is not None
    assert (info.launcher, info.rank, info.local_rank, info.node_rank, info.world_size) == ("slurm", 2, 0, 1, 4)
    assert info.local_world_size == 2 and info.job_id == "4242.0"


def test_a_slurm_batch_script_is_not_a_rank() -> None:
    batch = {k: v for k, v in SRUN.items() if not k.startswith("SLURM_STEP")} | {"SLURM_PROCID": "0"}
    assert detect(batch) is None


def test_open_mpi_mpich_and_pmix() -> None:
    info = detect(OMPI, hostname="h")
    assert info is not None and (info.launcher, info.rank, info.world_size, info.local_rank) == ("mpi", 5, 8, 1)
    assert info.job_id == "prterun-host-1234@1"
    info = detect(MPICH, hostname="h")
    assert info is not None and (info.rank, info.world_size, info.local_rank, info.local_world_size) == (1, 4, 1, 4)
    assert detect({"PMIX_RANK": "2", "PMIX_NAMESPACE": "slurm.pmix.77.0"}, hostname="h") is not None


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"RANK": "0"},  # a RANK alone is anybody's variable
        {"RANK": "x", "TORCHELASTIC_RUN_ID": "j"},
        {"RANK": "-1", "TORCHELASTIC_RUN_ID": "j"},
        TORCHRUN | {"WORLD_SIZE": "1"},  # one process: an ordinary run
        TORCHRUN | {"RANK": str(ranks.MAX_RANK + 1)},
    ],
)
def test_not_a_rank(env: dict[str, str]) -> None:
    assert detect(env, hostname="h") is None


def test_every_rank_derives_the_same_id_from_the_job_alone() -> None:
    a = shared_run_id(detect(TORCHRUN, hostname="n0"), {})
    b = shared_run_id(detect(TORCHRUN | {"RANK": "0", "GROUP_RANK": "0"}, hostname="n1"), {})
    assert a == b == derived_run_id("torchrun", "job-7")
    assert a is not None and a.startswith("torchrun-") and len(a) <= 64
    assert shared_run_id(detect(TORCHRUN | {"TORCHELASTIC_RUN_ID": "job-8"}), {}) != a
    # a wrapper's id wins
    assert shared_run_id(detect(TORCHRUN), {"TRAINBOARD_RUN_ID": "given"}) == "given"
    s1 = shared_run_id(detect(SRUN), {})
    assert s1 == shared_run_id(detect(SRUN | {"SLURM_PROCID": "0", "SLURM_NODEID": "0"}), {})
    assert s1 != shared_run_id(detect(SRUN | {"SLURM_STEP_ID": "1"}), {})  # another step, another run


def test_torchrun_default_rendezvous_id_on_one_node_uses_the_agents_folder() -> None:
    one_node = TORCHRUN | {"TORCHELASTIC_RUN_ID": "none", "WORLD_SIZE": "2", "LOCAL_WORLD_SIZE": "2", "RANK": "1"}
    a = detect(one_node, hostname="h")
    b = detect(
        one_node | {"TORCHELASTIC_ERROR_FILE": "/tmp/torchelastic_zz/none_q/attempt_0/0/error.json"}, hostname="h"
    )
    assert a is not None and b is not None and a.job_id_unique and a.job_id != b.job_id
    two_nodes = TORCHRUN | {"TORCHELASTIC_RUN_ID": "none"}
    info = detect(two_nodes, hostname="h")
    assert info is not None and not info.job_id_unique


@pytest.mark.parametrize(
    ("visible", "local_rank", "local_world", "gpus"),
    [
        ("0,1,2,3", 2, 4, [2]),  # torchrun: every rank sees all, takes its local rank's
        ("4,5,6,7", 1, 4, [5]),
        ("3", 0, 4, [3]),  # srun --gpus-per-task=1: this rank's own
        ("2,3", 1, 4, [2, 3]),  # two per task
        ("", 0, 2, []),
        ("-1", 0, 2, []),
        ("GPU-3f2a", 0, 2, None),  # UUIDs: unknown index
    ],
)
def test_gpus_of_a_rank(visible: str, local_rank: int, local_world: int, gpus: list[int] | None) -> None:
    info = RankInfo(rank=local_rank, launcher="torchrun", local_rank=local_rank, local_world_size=local_world)
    assert gpus_of(info, {"CUDA_VISIBLE_DEVICES": visible}) == gpus


def test_rank_record_is_the_wire_body() -> None:
    info = detect(TORCHRUN | {"CUDA_VISIBLE_DEVICES": "0,1"}, hostname="n1")
    assert info is not None
    body = info.record(TORCHRUN | {"CUDA_VISIBLE_DEVICES": "0,1"}, pid=77)
    assert body == {
        "launcher": "torchrun",
        "node": "n1",
        "pid": 77,
        "local_rank": 1,
        "node_rank": 1,
        "world_size": 4,
        "gpus": [1],
    }
    assert set(body) <= {"local_rank", "node", "node_rank", "world_size", "pid", "gpus", "launcher"}


def test_gpus_without_cuda_visible_devices_come_from_nvmls_count() -> None:
    info = RankInfo(rank=10, launcher="torchrun", local_rank=2, local_world_size=8)
    assert gpus_of(info, {}, gpu_count=8) == [2]
    assert gpus_of(info, {}, gpu_count=None) is None  # no driver: unknown, not "none"
    assert gpus_of(info, {}, gpu_count=0) is None
