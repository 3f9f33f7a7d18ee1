"""The slurm provider's pure parts: state mapping, the sbatch options and the generated batch script."""

from __future__ import annotations

import shlex
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from trainboard.server.providers.base import JobSpec, JobState, ProviderContext, Resources
from trainboard.server.providers.slurm import batch_script, create, job_comment, map_state, sbatch_options


@pytest.mark.parametrize(
    ("native", "code", "sig", "state", "exit_code"),
    [
        ("PENDING", 0, None, JobState.QUEUED, None),
        ("CONFIGURING", 0, None, JobState.QUEUED, None),
        ("RUNNING", 0, None, JobState.RUNNING, None),
        ("COMPLETING", 0, None, JobState.RUNNING, None),
        ("COMPLETED", 0, None, JobState.COMPLETED, 0),
        ("FAILED", 3, None, JobState.FAILED, 3),
        ("CANCELLED by 0", 0, 15, JobState.CANCELLED, 143),
        ("CANCELLED+", 0, 9, JobState.CANCELLED, 137),
        ("TIMEOUT", 0, 15, JobState.FAILED, 143),
        ("OUT_OF_MEMORY", 0, 9, JobState.FAILED, 137),
        ("NODE_FAIL", 0, None, JobState.LOST, 0),
    ],
)
def test_states_map_onto_trainboards(
    native: str, code: int, sig: int | None, state: JobState, exit_code: int | None
) -> None:
    status = map_state(native, exit_code=code, signal=sig)
    assert status.state == state
    if state.finished:
        assert status.exit_code == exit_code
    assert status.native == native.split()[0].rstrip("+")


def test_pending_reason_is_shown_and_timeouts_say_so() -> None:
    assert map_state("PENDING", exit_code=0, signal=None, reason="Resources").reason == "waiting: Resources"
    assert map_state("PENDING", exit_code=0, signal=None, reason="None").reason is None
    assert map_state("TIMEOUT", exit_code=0, signal=15).reason == "time limit reached"
    assert map_state("FAILED", exit_code=3, signal=None).reason == "exit code 3"


def test_sbatch_options_carry_the_resources(tmp_path: Path) -> None:
    spec = JobSpec(
        argv=("python", "t.py"),
        cwd="/data/exp",
        resources=Resources(cpus=2.5, gpus=2, gpu_type="a100", memory_mb=4096, time_limit=3601),
    )
    opts = sbatch_options(spec, job_name="trainboard-x", output=tmp_path / "slurm-%j.out", partition="gpu")
    assert opts[:2] == ["sbatch", "--parsable"]
    for expected in (
        "--cpus-per-task=3",
        "--gres=gpu:a100:2",
        "--mem=4096M",
        "--time=61",
        "--chdir=/data/exp",
        "--partition=gpu",
        f"--output={tmp_path}/slurm-%j.out",
    ):
        assert expected in opts
    plain = sbatch_options(JobSpec(argv=("x",)), job_name="j", output=tmp_path / "o")
    assert not any(o.startswith(("--gres", "--mem", "--time", "--cpus", "--chdir", "--comment")) for o in plain)
    # the comment names the run: how find() knows the job after the deploying server died
    named = sbatch_options(JobSpec(argv=("x",)), job_name="j", output=tmp_path / "o", comment=job_comment("r-1"))
    assert "--comment=trainboard-run:r-1" in named


def test_batch_script_runs_the_words_verbatim_and_records_the_exit(tmp_path: Path) -> None:
    words = ["printf", "%s|", "$(touch pwned)", "a b", "'q'", "`id`", "x\ny", ";", "&&"]
    script = batch_script(words, exit_file_stem=tmp_path / "slurm", run_id="r1")
    path = tmp_path / "job.sh"
    path.write_text(script)
    done = subprocess.run(
        ["sh", str(path)], capture_output=True, text=True, cwd=tmp_path, env={"SLURM_JOB_ID": "42"}, check=False
    )
    assert done.returncode == 0
    assert done.stdout == "|".join(words[2:]) + "|"
    assert not (tmp_path / "pwned").exists()
    assert (tmp_path / "slurm.42.exit").read_text() == "0\n"
    assert shlex.join(words) in script

    failing = batch_script(["sh", "-c", "exit 3"], exit_file_stem=tmp_path / "slurm", run_id="r2")
    path.write_text(failing)
    run = subprocess.run(["sh", str(path)], cwd=tmp_path, env={"SLURM_JOB_ID": "43"}, check=False)
    assert run.returncode == 3 and (tmp_path / "slurm.43.exit").read_text() == "3\n"


def test_batch_shell_passes_sigterm_on_and_waits_for_the_command(tmp_path: Path) -> None:
    child = "import signal, sys, time\nprint('up', flush=True)\ntime.sleep(30)\n"
    (tmp_path / "child.py").write_text(child)
    script = batch_script([sys.executable, str(tmp_path / "child.py")], exit_file_stem=tmp_path / "slurm", run_id="r")
    (tmp_path / "job.sh").write_text(script)
    with subprocess.Popen(
        ["sh", str(tmp_path / "job.sh")], stdout=subprocess.PIPE, cwd=tmp_path, env={"SLURM_JOB_ID": "44"}
    ) as proc:
        assert proc.stdout is not None and proc.stdout.readline() == b"up\n"
        proc.send_signal(signal.SIGTERM)  # the shell alone, as `scancel --signal=TERM` without --full does
        assert proc.wait(10) == 143
    assert (tmp_path / "slurm.44.exit").read_text() == "143\n"


def test_settings_are_checked(tmp_path: Path) -> None:
    context = ProviderContext(state_dir=tmp_path, launch_root=None, server_url="http://127.0.0.1:1")
    with pytest.raises(ValueError, match="no setting 'partiton'"):
        create({"partiton": "gpu"}, context)
    with pytest.raises(ValueError, match="extra_args must be a list of strings"):
        create({"extra_args": "--exclusive"}, context)
    with pytest.raises(ValueError, match="env must be a table of strings"):
        create({"env": {"A": 1}}, context)
    provider = create({"client": "/opt/venv/bin/trainboard", "output_dir": str(tmp_path / "out")}, context)
    assert provider.client_argv == ("/opt/venv/bin/trainboard",)
    assert provider.output_dir == tmp_path / "out"
    assert provider.capabilities.time_limit and provider.capabilities.gpus


def test_jobs_get_a_minimal_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "server-secret")
    monkeypatch.setenv("TRAINBOARD_DB", "postgresql://server")
    monkeypatch.setenv("SLURM_CONF", "/etc/slurm/other.conf")
    context = ProviderContext(state_dir=tmp_path, launch_root=None, server_url="http://127.0.0.1:1")
    provider = create({"slurm_conf": "/etc/slurm/slurm.conf", "env": {"TRAINBOARD_DATA": "/scratch"}}, context)
    env = provider._env(provider.job_env | {"OMP_NUM_THREADS": "4"})
    assert "AWS_SECRET_ACCESS_KEY" not in env and "TRAINBOARD_DB" not in env
    assert env["SLURM_CONF"] == "/etc/slurm/slurm.conf" and env["OMP_NUM_THREADS"] == "4"
    assert env["TRAINBOARD_DATA"] == "/scratch" and "PATH" in env
