"""Who is deploying a launch: a process identity the watcher can check on this machine, and the lease."""

from __future__ import annotations

import subprocess
import sys
import time

from trainboard.server.providers.service import DEPLOY_LEASE, deploy_orphaned, owner_gone, process_identity


def test_a_live_process_is_not_gone_and_an_ended_one_is() -> None:
    assert not owner_gone(process_identity())
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    ident = process_identity(child.pid)
    child.wait()
    assert owner_gone(ident)


def test_a_reused_pid_is_another_process() -> None:
    host, machine_boot, pidns, pid, started = process_identity().rsplit("|", 4)
    assert owner_gone("|".join([host, machine_boot, pidns, pid, f"{float(started) - 100:.3f}"]))


def test_a_process_of_another_machine_or_pid_namespace_is_left_to_its_lease() -> None:
    host, boot, pidns, _pid, started = process_identity().rsplit("|", 4)
    assert not owner_gone("|".join([host, "another-boot-id", pidns, "999999", started]))
    assert not owner_gone("|".join([host, boot, "pid:[1]", "999999", started]))
    assert not owner_gone(None) and not owner_gone("garbage")


def test_orphaned_once_the_lease_runs_out_or_the_owner_is_gone() -> None:
    now = time.time()
    me = process_identity()
    assert not deploy_orphaned({"deploy_owner": me, "deploy_until": now + 10, "launched_at": now}, now)
    assert deploy_orphaned({"deploy_owner": me, "deploy_until": now - 1, "launched_at": now}, now)
    foreign = me.replace(me.split("|")[1], "elsewhere", 1)
    assert not deploy_orphaned({"deploy_owner": foreign, "deploy_until": now + 10, "launched_at": now}, now)
    # a launch from before the lease existed: its launch time counts
    assert not deploy_orphaned({"deploy_owner": None, "deploy_until": None, "launched_at": now}, now)
    assert deploy_orphaned({"deploy_owner": None, "deploy_until": None, "launched_at": now - DEPLOY_LEASE - 1}, now)
