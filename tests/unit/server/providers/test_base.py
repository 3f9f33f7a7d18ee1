"""The provider contract's helpers: the execution-side wrapper, the job's environment, state mapping."""

from __future__ import annotations

import shlex

import pytest

from trainboard.server.providers.base import (
    JobSpec,
    JobState,
    SpecError,
    execution_env,
    shell_command,
    wrapped_argv,
)


def test_every_provider_wraps_the_argv_in_trainboard_run_with_the_run_id() -> None:
    spec = JobSpec(argv=("python", "train.py", "--lr", "1e-3; rm -rf /"), name="exp", project="vision")
    argv = wrapped_argv(spec, run_id="r1", server_url="http://10.0.0.5:8000")
    assert argv == [
        "trainboard",
        "run",
        "--run-id",
        "r1",
        "--url",
        "http://10.0.0.5:8000",
        "--name",
        "exp",
        "--project",
        "vision",
        "--",
        "python",
        "train.py",
        "--lr",
        "1e-3; rm -rf /",
    ]
    local = wrapped_argv(spec, run_id="r1", server_url="u", client=("/py", "-m", "trainboard.cli"), extra=("--x",))
    assert local[:3] == ["/py", "-m", "trainboard.cli"] and local[local.index("--") - 1] == "--x"


def test_an_empty_argv_is_a_spec_error_naming_the_field() -> None:
    with pytest.raises(SpecError) as caught:
        wrapped_argv(JobSpec(argv=()), run_id="r", server_url="u")
    assert caught.value.field == "argv"


def test_the_token_travels_in_the_environment_never_in_argv() -> None:
    spec = JobSpec(argv=("python",), env={"OMP_NUM_THREADS": "2"})
    env = execution_env(spec, run_id="r1", server_url="http://h:1", token="tb_secret")
    assert env == {
        "OMP_NUM_THREADS": "2",
        "TRAINBOARD_URL": "http://h:1",
        "TRAINBOARD_LAUNCH_RUN_ID": "r1",
        "TRAINBOARD_TOKEN": "tb_secret",
    }
    assert "tb_secret" not in wrapped_argv(spec, run_id="r1", server_url="http://h:1")
    assert "TRAINBOARD_TOKEN" not in execution_env(spec, run_id="r1", server_url="u", token=None)


def test_a_shell_command_quotes_every_word() -> None:
    words = ["echo", "$(id)", "a b", "'quoted'", ";", "|cat"]
    assert shlex.split(shell_command(words)) == words


def test_job_states_map_onto_run_statuses() -> None:
    assert [s.finished for s in JobState] == [False, False, True, True, True, True, True]
    assert JobState.PREEMPTED.run_status == "interrupted"
    assert JobState.QUEUED.run_status == "queued"
    assert JobState.CANCELLED.run_status == "interrupted"
    assert JobState.LOST.run_status == "interrupted"
    assert JobState.FAILED.run_status == "failed"
