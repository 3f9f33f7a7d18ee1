"""The local provider's parts that need no server: the working-directory rule and job records."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from trainboard.server.providers.base import JobNotFound, JobState, ProviderContext, ProviderError, SpecError
from trainboard.server.providers.local import LocalProvider, create, resolve_cwd


def test_cwd_must_resolve_inside_the_root(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "exp").mkdir(parents=True)
    (tmp_path / "outside").mkdir()
    (root / "escape").symlink_to(tmp_path / "outside")
    assert resolve_cwd(None, root) == root.resolve()
    assert resolve_cwd("exp", root) == (root / "exp").resolve()
    assert resolve_cwd(str(root / "exp"), root) == (root / "exp").resolve()
    for bad in ("..", "../outside", "escape", str(tmp_path / "outside"), "exp/../../outside", "missing"):
        with pytest.raises(SpecError) as caught:
            resolve_cwd(bad, root)
        assert caught.value.field == "cwd", bad
    with pytest.raises(SpecError, match="launch-root"):
        resolve_cwd("exp", None)


def _provider(tmp_path: Path) -> LocalProvider:
    ctx = ProviderContext(state_dir=tmp_path / "state", launch_root=tmp_path, server_url="http://127.0.0.1:1")
    return create({}, ctx)


def test_unknown_settings_and_job_ids_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no setting"):
        create({"gpus": 1}, ProviderContext(state_dir=tmp_path, launch_root=None, server_url="u"))
    provider = _provider(tmp_path)
    for job in ("nope", "../../etc/passwd"):
        with pytest.raises(JobNotFound):
            provider.status(job)
        with pytest.raises(JobNotFound):
            provider.logs(job)


def test_a_restarted_server_finds_a_live_job_by_pid_and_start_time_and_reports_a_gone_one_lost(
    tmp_path: Path,
) -> None:
    provider = _provider(tmp_path)
    provider.dir.mkdir(parents=True)
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        import psutil

        started = psutil.Process(sleeper.pid).create_time()
        (provider.dir / "alive.json").write_text(json.dumps({"pid": sleeper.pid, "start_time": started}))
        (provider.dir / "recycled.json").write_text(json.dumps({"pid": sleeper.pid, "start_time": started - 100}))
        (provider.dir / "cancelled.json").write_text(
            json.dumps({"pid": 0, "start_time": None, "cancel_requested_at": time.time()})
        )
        fresh = _provider(tmp_path)  # a new process: none of these are its children
        assert fresh.status("alive").state == JobState.RUNNING
        lost = fresh.status("recycled")
        assert lost.state == JobState.LOST and "restart" in (lost.reason or "")
        assert fresh.status("cancelled").state == JobState.CANCELLED
    finally:
        sleeper.kill()
        sleeper.wait()


def test_native_logs_page_by_byte_offset(tmp_path: Path) -> None:
    provider = _provider(tmp_path)
    provider.dir.mkdir(parents=True)
    (provider.dir / "j.json").write_text(json.dumps({"pid": os.getpid(), "start_time": None}))
    (provider.dir / "j.log").write_bytes(b"0123456789")
    assert provider.logs("j", limit=4, offset=3) == b"3456"
    assert provider.logs("j", limit=100, offset=50) == b""


def test_a_gone_job_whose_owner_process_lives_is_running_until_the_owner_writes_its_exit_status(
    tmp_path: Path,
) -> None:
    """Another server process (``--workers``) deployed it: that process reaps it and writes the exit status."""
    import psutil

    provider = _provider(tmp_path)
    provider.dir.mkdir(parents=True)
    owner = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        me = {"pid": owner.pid, "start_time": psutil.Process(owner.pid).create_time()}
        (provider.dir / "j.json").write_text(json.dumps({"pid": 0, "start_time": None, "owner": me}))
        assert provider.status("j").state == JobState.RUNNING
        (provider.dir / "j.json").write_text(
            json.dumps({"pid": 0, "start_time": None, "owner": me, "exit_code": 3, "signal": None})
        )
        assert (provider.status("j").state, provider.status("j").exit_code) == (JobState.FAILED, 3)
        (provider.dir / "k.json").write_text(json.dumps({"pid": 0, "start_time": None, "owner": me}))
    finally:
        owner.kill()
        owner.wait()
    lost = provider.status("k")  # its owner died before writing the exit status
    assert lost.state == JobState.LOST and "restart" in (lost.reason or "")


def test_forget_removes_an_ended_jobs_files_and_refuses_a_running_one(tmp_path: Path) -> None:
    provider = _provider(tmp_path)
    provider.dir.mkdir(parents=True)
    spool = provider.dir / "client" / "spool" / "done"
    spool.mkdir(parents=True)
    (spool / "metrics.journal").write_text("x")
    (provider.dir / "done.json").write_text(json.dumps({"pid": 0, "start_time": None, "exit_code": 0}))
    (provider.dir / "done.log").write_bytes(b"native")
    (provider.dir / "other.json").write_text(json.dumps({"pid": 0, "start_time": None, "exit_code": 0}))
    provider.forget("done")
    assert sorted(p.name for p in provider.dir.iterdir()) == [".records.lock", "client", "other.json"]
    assert not spool.exists()
    with pytest.raises(JobNotFound):
        provider.forget("../other")
    (provider.dir / "live.json").write_text(json.dumps({"pid": os.getpid(), "start_time": None, "owner": provider._me}))
    with pytest.raises(ProviderError, match="still runs"):
        provider.forget("live")
    assert (provider.dir / "live.json").is_file()
