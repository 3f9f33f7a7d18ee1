"""The per-rank wrapper inserted into launcher command lines (``sdk/launch_rewrite``) and the exception read from
a dying rank's output (``sdk/rank_errors``)."""

from __future__ import annotations

import pytest

from trainboard.sdk.launch_rewrite import rewrite
from trainboard.sdk.rank_errors import last_exception

PY = "/env/bin/python"
WRAP = [PY, "-m", "trainboard.sdk.rank_exec", "--"]


def test_torchrun_script_runs_as_torchrun_would_run_it_under_the_wrapper() -> None:
    got = rewrite(["torchrun", "--nnodes", "2", "--nproc-per-node=2", "--rdzv-id", "j1", "train.py", "--lr", "3"], PY)
    assert got is not None
    assert got.argv == [
        "torchrun", "--nnodes", "2", "--nproc-per-node=2", "--rdzv-id", "j1", "--no-python",
        *WRAP, PY, "-u", "train.py", "--lr", "3",
    ]  # fmt: skip
    assert (got.launcher, got.job_id) == ("torchrun", "j1")


@pytest.mark.parametrize(
    ("argv", "child", "job"),
    [
        (["torchrun", "--standalone", "-m", "pkg.train", "-x"], [PY, "-u", "-m", "pkg.train", "-x"], None),
        (["torchrun", "--no-python", "bash", "run.sh"], ["bash", "run.sh"], None),
        (["torchrun", "--rdzv_id=abc", "--", "t.py"], [PY, "-u", "t.py"], "abc"),
        (["torchrun", "--rdzv-id", "none", "t.py"], [PY, "-u", "t.py"], None),  # torchrun's default: no job name
        ([PY, "-m", "torch.distributed.run", "--nproc_per_node", "4", "t.py"], [PY, "-u", "t.py"], None),
    ],
)
def test_torchrun_forms(argv: list[str], child: list[str], job: str | None) -> None:
    got = rewrite(argv, PY)
    assert got is not None and got.argv[-len(child) :] == child and got.job_id == job
    assert got.argv[-len(child) - len(WRAP) - 1 : -len(child)] == ["--no-python", *WRAP]
    assert "-m" not in got.argv[: -len(child) - len(WRAP)] or argv[0] == PY  # -m went to the child


def test_srun() -> None:
    got = rewrite(["srun", "-n", "4", "-l", "--mpi=pmix", "-N2", "python", "train.py", "-n", "3"], PY)
    assert got is not None
    assert got.argv == ["srun", "-n", "4", "-l", "--mpi=pmix", "-N2", *WRAP, "python", "train.py", "-n", "3"]
    assert got.launcher == "slurm"


@pytest.mark.parametrize(
    "argv",
    [
        ["python", "train.py"],
        ["srun", "--pty", "bash"],  # an interactive shell stays one terminal
        ["torchrun", "--run-path", "x.py"],
        ["torchrun", "--help"],
        ["torchrun", "--nnodes", "2"],  # no script
        ["mpirun", "-np", "4", "python", "t.py"],  # written by hand: python -m trainboard.sdk.rank_exec -- ...
        [],
    ],
)
def test_left_alone(argv: list[str]) -> None:
    assert rewrite(argv, PY) is None


def test_accelerate_launch() -> None:
    pytest.importorskip("accelerate")
    got = rewrite(["accelerate", "launch", "--cpu", "--num_processes", "4", "--rdzv_id", "r9", "t.py", "--a"], PY)
    assert got is not None
    assert got.argv == [
        "accelerate", "launch", "--cpu", "--num_processes", "4", "--rdzv_id", "r9", "--no_python",
        *WRAP, PY, "-u", "t.py", "--a",
    ]  # fmt: skip
    assert (got.launcher, got.job_id) == ("accelerate", "r9")


TRACEBACK = (
    b"step 9 loss=0.1\r\n"
    b"Traceback (most recent call last):\r\n"
    b'  File "/home/u/proj/train.py", line 30, in <module>\r\n'
    b"    main()\r\n"
    b'  File "/home/u/proj/train.py", line 12, in main\r\n'
    b'    raise ValueError("boom")\r\n'
    b"ValueError: boom\r\n"
)


def test_last_exception_and_where() -> None:
    assert last_exception(TRACEBACK) == "ValueError: boom (train.py:12 in main)"


def test_torch_distributed_prefixes_and_colours() -> None:
    prefixed = b"\r\n".join(b"[rank3]: " + line for line in TRACEBACK.split(b"\r\n")[1:])
    assert last_exception(b"\x1b[31m" + prefixed) == "ValueError: boom (train.py:12 in main)"


def test_chained_exceptions_give_the_last() -> None:
    chained = (
        TRACEBACK + b"\r\nDuring handling of the above exception, another exception occurred:\r\n\r\n"
        b"Traceback (most recent call last):\r\n"
        b'  File "/x/io.py", line 3, in save\r\n'
        b"    f.write(x)\r\n"
        b"OSError: [Errno 28] No space left on device\r\n"
    )
    assert last_exception(chained) == "OSError: [Errno 28] No space left on device (io.py:3 in save)"


@pytest.mark.parametrize(
    "output",
    [
        b"",
        b"epoch 1 loss=0.3\r\n",
        # torchrun's failure report is not a traceback of the rank
        b"Root Cause (first observed failure):\r\n[0]:\r\n  time      : 2026-12-07_22:14:13\r\n"
        b"  rank      : 2 (local_rank: 0)\r\n  exitcode  : 1 (pid: 30203)\r\n  error_file: <N/A>\r\n",
    ],
)
def test_no_traceback_no_exception(output: bytes) -> None:
    assert last_exception(output) is None
