"""Real execution engines for the launch tests: a Ray head and a single-node SLURM cluster, on 127.0.0.1 only.

Each engine lives in a private temporary directory (its configuration, state, sockets and logs), listens on
free loopback ports and is started once per test file and torn down at its end. A missing engine skips the
tests locally and fails them under ``CI=true`` (``scripts/test`` installs SLURM and munge from Debian, and Ray
comes with the ``ray`` extra).
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.servers import free_port, service_missing


def listening_sockets(pids: set[int]) -> list[tuple[str, int]]:
    """(address, pid) of every TCP socket in LISTEN state owned by one of ``pids`` (from ``ss -ltnpH``)."""
    out = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True, check=True).stdout
    found: list[tuple[str, int]] = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 6:
            continue
        for pid in re.findall(r"pid=(\d+)", line):
            if int(pid) in pids:
                found.append((parts[3], int(pid)))
    return found


def _descendants(root: int) -> set[int]:
    """``root`` and every process below it (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    seen = {root}
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in seen:
                seen.add(child)
                todo.append(child)
    return seen


def _stop_group(proc: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    """SIGTERM the process group ``proc`` leads, then SIGKILL what is left after ``grace`` seconds: the group and
    every process that descended from ``proc`` (some engines start children in sessions of their own)."""
    import psutil

    family: list[psutil.Process] = []
    for pid in _descendants(proc.pid) - {proc.pid}:
        with contextlib.suppress(psutil.Error):
            family.append(psutil.Process(pid))  # remembers the start time: a recycled pid is never killed
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(grace)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    for member in family:
        with contextlib.suppress(psutil.Error):
            if member.is_running():
                member.kill()
    proc.wait()


def _processes_with_env(entry: str, exclude: set[int]) -> list[Any]:
    """Every process whose environment holds ``entry`` (``NAME=value``), with all its descendants."""
    import psutil

    found: dict[int, psutil.Process] = {}
    needle = entry.encode()
    for proc in psutil.process_iter():
        if proc.pid in exclude:
            continue
        try:
            with open(f"/proc/{proc.pid}/environ", "rb") as f:
                if needle not in f.read().split(b"\0"):
                    continue
            found[proc.pid] = proc
            for child in proc.children(recursive=True):
                found.setdefault(child.pid, child)
        except (OSError, psutil.Error):
            continue
    return list(found.values())


def _kill_all(procs: list[Any]) -> None:
    import psutil

    for proc in procs:
        with contextlib.suppress(psutil.Error):
            if proc.is_running():  # same pid *and* start time
                proc.kill()


def _wait_for(check: object, what: str, log: Path, timeout: float) -> None:
    assert callable(check)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    tail = log.read_text(errors="replace")[-4000:] if log.exists() else "(no log)"
    raise RuntimeError(f"{what} did not come up in {timeout:.0f} s; log {log}:\n{tail}")


# --------------------------------------------------------------------------------------------- Ray


@dataclass
class RayHead:
    """A ``ray start --head --block`` process group; every component bound to 127.0.0.1."""

    temp_dir: Path
    gcs_port: int
    dashboard_port: int
    proc: subprocess.Popen[bytes]
    log_path: Path

    @property
    def dashboard_url(self) -> str:
        return f"http://127.0.0.1:{self.dashboard_port}"

    def pids(self) -> set[int]:
        return _descendants(self.proc.pid)

    def listening(self) -> list[tuple[str, int]]:
        """(address:port, pid) of every TCP socket the head's processes listen on."""
        return listening_sockets(self.pids())


def _ray_ports(taken: set[int]) -> list[str]:
    """Every port option of ``ray start`` pinned to a free loopback port (none left to Ray's defaults). The worker
    port range lies clear of every other port given (``taken`` and these): Ray refuses to start when a component's
    port falls inside it ("worker_ports is trying to use a port number ... used by other components")."""
    names = (
        "--node-manager-port",
        "--object-manager-port",
        "--ray-client-server-port",
        "--dashboard-agent-grpc-port",
        "--dashboard-agent-listen-port",
        "--metrics-export-port",
        "--runtime-env-agent-port",
    )
    ports = {name: free_port() for name in names}
    used = taken | set(ports.values())
    low = free_port()
    while any(low <= p <= low + 40 for p in used):
        low = free_port()
    return [
        *(x for name, port in ports.items() for x in (name, str(port))),
        "--min-worker-port",
        str(low),
        "--max-worker-port",
        str(low + 40),
    ]


@contextmanager
def ray_head(num_cpus: int = 2, timeout: float = 90.0) -> Iterator[RayHead]:
    """Start a Ray head on 127.0.0.1 with a private temp dir; stopped (process group killed) afterwards."""
    ray_bin = shutil.which("ray") or str(Path(sys.executable).with_name("ray"))
    if not Path(ray_bin).exists():
        service_missing("Ray (the `ray` command, pip install 'trainboard[ray]')", FileNotFoundError(ray_bin))
    # Ray's unix sockets live under the temp dir: keep the path short (108-byte limit).
    temp_dir = Path(tempfile.mkdtemp(prefix="tbray", dir="/tmp"))
    log_path = temp_dir / "ray-start.log"
    gcs_port, dashboard_port = free_port(), free_port()
    env = dict(os.environ)
    for name in ("RAY_ADDRESS", "RAY_JOB_CONFIG_JSON_ENV_VAR"):
        env.pop(name, None)
    env["RAY_USAGE_STATS_ENABLED"] = "0"
    env["RAY_DISABLE_DOCKER_CPU_WARNING"] = "1"
    # On Linux `ray start` replaces a loopback --node-ip-address by the machine's external address unless Ray
    # believes it is a single-machine setup (the flag below, meant for macOS/Windows): keep every address 127.0.0.1.
    env["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    # Two metrics ports have fixed defaults and no `ray start` option: free ones, so heads can run side by side.
    metric_ports = free_port(), free_port()
    env["AUTOSCALER_METRIC_PORT"], env["DASHBOARD_METRIC_PORT"] = (str(p) for p in metric_ports)
    args = [
        ray_bin,
        "start",
        "--head",
        "--block",
        "--node-ip-address=127.0.0.1",
        "--dashboard-host=127.0.0.1",
        f"--port={gcs_port}",
        f"--dashboard-port={dashboard_port}",
        f"--temp-dir={temp_dir}",
        f"--num-cpus={num_cpus}",
        "--num-gpus=0",
        "--include-dashboard=true",
        "--disable-usage-stats",
        *_ray_ports({gcs_port, dashboard_port, *metric_ports}),
    ]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    head = RayHead(temp_dir, gcs_port, dashboard_port, proc, log_path)
    try:
        import httpx

        def up() -> bool:
            if proc.poll() is not None:
                raise RuntimeError(f"ray start exited with {proc.returncode}:\n{log_path.read_text()[-4000:]}")
            try:
                return httpx.get(head.dashboard_url + "/api/version", timeout=1.0).status_code == 200
            except httpx.HTTPError:
                return False

        _wait_for(up, "Ray's dashboard", log_path, timeout)
        yield head
    finally:
        _stop_group(proc, grace=3)
        shutil.rmtree(temp_dir, ignore_errors=True)


# ------------------------------------------------------------------------------------------- SLURM

SLURM_BINARIES = ("slurmctld", "slurmd", "munged", "sbatch", "squeue", "scancel", "scontrol")


@dataclass
class SlurmCluster:
    """A one-node SLURM cluster (munged, slurmctld, slurmd) configured in a private directory."""

    root: Path
    conf: Path
    munge_socket: Path
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    ports: tuple[int, int] = (0, 0)

    def env(self) -> dict[str, str]:
        """What a SLURM client command (and the trainboard server that runs them) needs."""
        return {"SLURM_CONF": str(self.conf)}

    def pids(self) -> set[int]:
        pids: set[int] = set()
        for proc in self.procs:
            pids |= _descendants(proc.pid)
        return pids

    def listening(self) -> list[tuple[str, int]]:
        """(address:port, pid) of every TCP socket munged, slurmctld and slurmd listen on."""
        return listening_sockets(self.pids())


def _node_line(slurmd: str) -> str:
    out = subprocess.run([slurmd, "-C"], capture_output=True, text=True, check=True).stdout
    fields = dict(re.findall(r"(\w+)=(\S+)", out.splitlines()[0]))
    memory = max(int(fields.get("RealMemory", "1024")) - 512, 256)
    return (
        f"NodeName=localhost NodeAddr=127.0.0.1 NodeHostname=localhost CPUs={fields.get('CPUs', '1')} "
        f"RealMemory={memory} State=UNKNOWN"
    )


def _slurm_conf(root: Path, ctld_port: int, slurmd_port: int, munge_socket: Path, slurmd: str) -> str:
    return "\n".join(
        [
            "ClusterName=trainboardtest",
            "SlurmctldHost=localhost(127.0.0.1)",
            f"SlurmctldPort={ctld_port}",
            f"SlurmdPort={slurmd_port}",
            "SlurmUser=root",
            "SlurmdUser=root",
            "AuthType=auth/munge",
            "CredType=cred/munge",
            f"AuthInfo=socket={munge_socket}",
            f"StateSaveLocation={root / 'state'}",
            f"SlurmdSpoolDir={root / 'spool'}",
            f"SlurmctldPidFile={root / 'slurmctld.pid'}",
            f"SlurmdPidFile={root / 'slurmd.pid'}",
            f"SlurmctldLogFile={root / 'slurmctld.log'}",
            f"SlurmdLogFile={root / 'slurmd.log'}",
            "ProctrackType=proctrack/linuxproc",
            "TaskPlugin=task/none",
            "JobAcctGatherType=jobacct_gather/none",
            "AccountingStorageType=accounting_storage/none",
            "JobCompType=jobcomp/none",
            "SwitchType=switch/none",
            "MpiDefault=none",
            "CommunicationParameters=NoInAddrAny,NoCtldInAddrAny",
            "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_Core_Memory",
            "ReturnToService=2",
            "SchedulerType=sched/builtin",
            "SlurmctldTimeout=30",
            "SlurmdTimeout=30",
            "InactiveLimit=0",
            "MinJobAge=600",
            "KillWait=5",
            "Waittime=0",
            "SlurmctldDebug=info",
            "SlurmdDebug=info",
            _node_line(slurmd),
            "PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP",
            "",
        ]
    )


def _node_idle(env: dict[str, str]) -> bool:
    done = subprocess.run(
        ["sinfo", "-h", "-N", "-o", "%T"], capture_output=True, text=True, env=env, check=False, timeout=10
    )
    return done.returncode == 0 and done.stdout.strip().rstrip("*") in ("idle", "mixed", "allocated")


@contextmanager
def slurm_cluster(timeout: float = 60.0) -> Iterator[SlurmCluster]:
    """Start munged, slurmctld and slurmd on 127.0.0.1 from a generated slurm.conf; all stopped afterwards."""
    search = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])  # the daemons live in sbin
    found = {b: shutil.which(b, path=search) for b in SLURM_BINARIES}
    missing = [b for b, path in found.items() if path is None]
    if missing:
        service_missing("SLURM (Debian's slurmctld, slurmd, slurm-client, munge)", FileNotFoundError(missing))
    root = Path(tempfile.mkdtemp(prefix="tbslurm", dir="/tmp"))
    os.chmod(root, 0o755)
    for sub in ("state", "spool", "munge"):
        (root / sub).mkdir(mode=0o700)
    key = root / "munge" / "munge.key"
    key.write_bytes(secrets.token_bytes(1024))
    key.chmod(0o400)
    munge_socket = root / "munge" / "munge.socket"
    ctld_port, slurmd_port = free_port(), free_port()
    conf = root / "slurm.conf"
    conf.write_text(_slurm_conf(root, ctld_port, slurmd_port, munge_socket, str(found["slurmd"])))
    cluster = SlurmCluster(root, conf, munge_socket, ports=(ctld_port, slurmd_port))
    env = dict(os.environ) | cluster.env()

    def start(args: list[str], log_name: str) -> subprocess.Popen[bytes]:
        with open(root / log_name, "wb") as log:
            proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        cluster.procs.append(proc)
        return proc

    try:
        start(
            [
                str(found["munged"]),
                "--foreground",
                "--force",
                f"--key-file={key}",
                f"--socket={munge_socket}",
                f"--pid-file={root / 'munge' / 'munged.pid'}",
                f"--log-file={root / 'munge' / 'munged.log'}",
                f"--seed-file={root / 'munge' / 'munged.seed'}",
                "--origin=127.0.0.1",
            ],
            "munged.out",
        )
        _wait_for(munge_socket.exists, "munged", root / "munged.out", 15)
        start([str(found["slurmctld"]), "-D", "-c", "-f", str(conf)], "slurmctld.out")
        start([str(found["slurmd"]), "-D", "-f", str(conf), "-N", "localhost"], "slurmd.out")
        _wait_for(lambda: _node_idle(env), "the SLURM node", root / "slurmd.log", timeout)
        yield cluster
    finally:
        # slurmd starts each job's slurmstepd in a session of its own (parent: init): find the job processes by the
        # SLURM_CONF they inherited, stop the daemons, then kill what is left of the jobs.
        jobs = _processes_with_env(f"SLURM_CONF={conf}", exclude={os.getpid()})
        for proc in reversed(cluster.procs):
            _stop_group(proc, grace=5)
        _kill_all(jobs)
        shutil.rmtree(root, ignore_errors=True)
