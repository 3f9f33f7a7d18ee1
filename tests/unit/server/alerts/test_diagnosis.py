"""Failure diagnosis on realistic terminal tails."""

from __future__ import annotations

from trainboard.server.alerts import diagnosis
from trainboard.server.alerts.diagnosis import diagnose


def numbered(text: str) -> list[tuple[int, str]]:
    return list(enumerate(text.splitlines()))


TORCH_OOM = """\
epoch 3:  45%|####5     | 450/1000 [01:02<01:16,  7.2it/s, loss=0.41]
Traceback (most recent call last):
  File "/home/me/proj/train.py", line 88, in <module>
    loss = model(batch).loss
  File "/usr/lib/python3.11/site-packages/torch/nn/modules/module.py", line 1532, in _wrapped_call_impl
    return self._call_impl(*args, **kwargs)
torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has a total capacity of 79.10 GiB
"""


def test_cuda_oom_names_the_allocation_the_step_and_the_user_frame() -> None:
    found = diagnose(numbered(TORCH_OOM), exit_code=1, step=4812)
    assert found is not None
    assert found.kind == "cuda_oom"
    assert found.summary == "CUDA out of memory: tried to allocate 2.00 GiB at step 4,812 (train.py:88)"
    assert found.exception == "OutOfMemoryError"
    assert found.line == 6


def test_a_plain_traceback_names_the_exception_message_and_innermost_user_frame() -> None:
    text = """\
Traceback (most recent call last):
  File "train.py", line 12, in <module>
    main()
  File "train.py", line 9, in main
    lr = config["learning_rate"]
KeyError: 'learning_rate'
"""
    found = diagnose(numbered(text), exit_code=1)
    assert found is not None
    assert (found.kind, found.summary, found.location) == (
        "exception",
        "KeyError: 'learning_rate' (train.py:9)",
        "train.py:9",
    )


def test_the_last_of_several_tracebacks_wins() -> None:
    text = """\
Traceback (most recent call last):
  File "a.py", line 1, in <module>
ValueError: first

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File "b.py", line 2, in <module>
RuntimeError: second
"""
    found = diagnose(numbered(text))
    assert found is not None and found.summary == "RuntimeError: second (b.py:2)"


def test_missing_module_and_missing_file() -> None:
    head = 'Traceback (most recent call last):\n  File "t.py", line 1, in <module>\n'
    found = diagnose(numbered(head + "ModuleNotFoundError: No module named 'flash_attn'\n"), exit_code=1)
    assert found is not None and found.kind == "missing_module" and "flash_attn" in found.summary
    nofile = head + "FileNotFoundError: [Errno 2] No such file or directory: 'data/train.bin'\n"
    found = diagnose(numbered(nofile), exit_code=1)
    assert found is not None and found.kind == "missing_file" and "data/train.bin" in found.summary


def test_oom_killer_from_the_exit_code_or_the_killed_line() -> None:
    found = diagnose(numbered("step 10 loss 0.3\n"), exit_code=137)
    assert found is not None and found.kind == "oom_killed"
    assert "exit 137" in found.summary and "OOM killer" in found.summary
    found = diagnose(numbered("step 10 loss 0.3\nKilled\n"), exit_code=None)
    assert found is not None and found.kind == "oom_killed" and found.line == 1


def test_nccl_timeout_disk_full_slurm_and_sigterm() -> None:
    nccl = (
        "[Rank 1] Watchdog caught collective operation timeout: WorkNCCL(SeqNum=5, OpType=ALLREDUCE) ran for 600000 ms"
    )
    found = diagnose(numbered(nccl), exit_code=1)
    assert found is not None and found.kind == "nccl" and found.summary.startswith("NCCL timeout")
    found = diagnose(numbered("OSError: [Errno 28] No space left on device: 'ckpt/model.pt'"), exit_code=1)
    assert found is not None and found.kind == "disk_full"
    slurm = "slurmstepd: error: *** JOB 4242 ON gpu17 CANCELLED AT 2026-12-07T10:00:00 DUE TO TIME LIMIT ***"
    found = diagnose(numbered(slurm), exit_code=143)
    assert found is not None and found.kind == "slurm_time_limit"
    found = diagnose(numbered("saving...\n"), exit_code=143)
    assert found is not None and found.kind == "sigterm"


def test_nan_guard() -> None:
    found = diagnose(numbered("step 500 loss nan\nstopping: loss is NaN at step 500\n"), exit_code=1)
    assert found is not None and found.kind == "nan"


def test_a_clean_exit_has_no_diagnosis_and_an_unexplained_code_says_the_code() -> None:
    assert diagnose(numbered("done\n"), exit_code=0) is None
    found = diagnose(numbered("done\n"), exit_code=3)
    assert found is not None and found.summary == "Exited with code 3"


def test_a_distributed_run_is_diagnosed_by_its_first_failing_rank() -> None:
    first = {"rank": 2, "node": "n1", "error": "ValueError: boom (train.py:10 in <module>)", "ended_at": 1.0}
    oom = diagnosis.diagnose([(1, "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB")])
    assert oom is not None
    said = diagnosis.first_failing_rank(first, oom)
    assert said.summary.startswith("rank 2 (node n1) failed first: ") and said.kind == oom.kind
    # only an exit code in its output: the rank record's error names the cause
    bare = diagnosis.diagnose([], exit_code=1)
    assert diagnosis.first_failing_rank(first, bare).summary == (
        "rank 2 (node n1) failed first: ValueError: boom (train.py:10 in <module>)"
    )
    assert diagnosis.first_failing_rank({**first, "node": None, "error": None}, None).summary == "rank 2 failed first"
