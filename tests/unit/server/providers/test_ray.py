"""The ray provider's pure parts: the entrypoint string and the state mapping."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from trainboard.server.providers.base import JobState, ProviderContext
from trainboard.server.providers.ray import create, entrypoint, map_status


def test_entrypoint_quotes_every_word(tmp_path: Path) -> None:
    words = ["printf", "%s|", "$(touch pwned)", "a b", "'q'", "`id`", "x\ny", ";"]
    (tmp_path / "dir with space").mkdir()
    command = entrypoint(words, str(tmp_path / "dir with space"))
    assert command.startswith("cd -- ")
    done = subprocess.run(["sh", "-c", command], capture_output=True, text=True, cwd=tmp_path, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "|".join(words[2:]) + "|"
    assert not (tmp_path / "pwned").exists() and not (tmp_path / "dir with space" / "pwned").exists()
    where = subprocess.run(["sh", "-c", entrypoint(["pwd"], str(tmp_path / "dir with space"))], capture_output=True)
    assert where.stdout.decode().strip() == str(tmp_path / "dir with space")


def test_a_missing_directory_stops_before_the_command(tmp_path: Path) -> None:
    done = subprocess.run(
        ["sh", "-c", entrypoint(["touch", str(tmp_path / "ran")], "/nonexistent/x")], capture_output=True, check=False
    )
    assert done.returncode != 0 and not (tmp_path / "ran").exists()


@pytest.mark.parametrize(
    ("native", "code", "state", "exit_code", "signal"),
    [
        ("PENDING", None, JobState.QUEUED, None, None),
        ("RUNNING", None, JobState.RUNNING, None, None),
        ("SUCCEEDED", 0, JobState.COMPLETED, 0, None),
        ("FAILED", 3, JobState.FAILED, 3, None),
        ("FAILED", -9, JobState.FAILED, 137, 9),
        ("STOPPED", 143, JobState.CANCELLED, 143, 15),
        ("STOPPED", None, JobState.CANCELLED, None, None),
    ],
)
def test_states_map_onto_trainboards(
    native: str, code: int | None, state: JobState, exit_code: int | None, signal: int | None
) -> None:
    status = map_status(native, exit_code=code)
    assert (status.state, status.exit_code, status.signal, status.native) == (state, exit_code, signal, native)


def test_failure_reason_is_rays_message_without_the_log_tail() -> None:
    message = "Job entrypoint command failed with exit code 2, last available logs (truncated to 20,000 chars):\nsh: cd"
    status = map_status("FAILED", exit_code=2, message=message, error_type="JOB_ENTRYPOINT_COMMAND_ERROR")
    assert status.reason == "Job entrypoint command failed with exit code 2"
    setup = map_status("FAILED", exit_code=None, message="runtime_env setup failed: no pip", error_type="X")
    assert setup.reason == "runtime_env setup failed: no pip"
    assert map_status("FAILED", exit_code=None, message=None, error_type="JOB_SUPERVISOR_ACTOR_DIED").reason == (
        "JOB_SUPERVISOR_ACTOR_DIED"
    )


def test_settings_are_checked(tmp_path: Path) -> None:
    context = ProviderContext(state_dir=tmp_path, launch_root=None, server_url="http://127.0.0.1:1")
    with pytest.raises(ValueError, match="address must be the http"):
        create({"address": "ray://head:10001"}, context)
    with pytest.raises(ValueError, match="no setting 'adress'"):
        create({"adress": "http://x"}, context)
    provider = create({"address": "http://127.0.0.1:1/", "client": ["/v/bin/trainboard"]}, context)
    assert provider.address == "http://127.0.0.1:1" and provider.client_argv == ("/v/bin/trainboard",)
    # nothing is contacted until used; an engine that is down is reported, not raised
    reach = provider.reachable()
    assert reach.ok is False and "127.0.0.1:1" in reach.detail
