"""The ``ssh`` launch provider: a job on another host, started, watched, cancelled and read over the system
``ssh`` client. Every remote action is a shell script sent on ssh's stdin (``ssh HOST sh -s``), so nothing of the
job (its environment, its token) appears in an argv on either machine; values in the scripts are quoted with
``shlex.quote``. See the package README for the configuration.
"""

from __future__ import annotations

import re
import secrets
import shlex
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from trainboard.server.providers.base import (
    Capabilities,
    JobNotFound,
    JobSpec,
    JobState,
    JobStatus,
    ProviderContext,
    ProviderError,
    Reachability,
    ca_shell,
    execution_env,
    shell_command,
    wrapped_argv,
)

TRAINBOARD_API = 1

_JOB_ID = re.compile(r"[0-9a-f]{32}")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class SshProvider:
    """See the module docstring."""

    name = "ssh"
    capabilities = Capabilities(cwd=True, native_logs=True)

    def __init__(
        self,
        *,
        host: str,
        context: ProviderContext,
        user: str | None = None,
        port: int = 22,
        identity_file: str | None = None,
        known_hosts: str | None = None,
        client: Sequence[str] = ("trainboard",),
        base_dir: str = ".trainboard-ssh",
        ssh: str = "ssh",
        timeout: float = 20.0,
    ) -> None:
        self.context = context
        self.client = tuple(client)
        self.base_dir = base_dir
        self.timeout = timeout
        argv = [ssh, "-T", "-p", str(port), "-o", "BatchMode=yes", "-o", "ConnectTimeout=10"]
        argv += ["-o", "StrictHostKeyChecking=yes", "-o", "LogLevel=ERROR"]
        if known_hosts:
            argv += ["-o", f"UserKnownHostsFile={known_hosts}"]
        if identity_file:
            argv += ["-i", identity_file, "-o", "IdentitiesOnly=yes"]
        if user:
            argv += ["-l", user]
        self._ssh = [*argv, "--", host, "sh", "-s"]
        self.host = host

    # -- the one way to reach the host -------------------------------------------------------------
    def _script(self, script: str, *, timeout: float | None = None) -> bytes:
        """Run ``script`` with ``sh`` on the host; its stdout. ssh's own failure (exit 255) is a ProviderError."""
        try:
            done = subprocess.run(
                self._ssh, input=script.encode(), capture_output=True, timeout=timeout or self.timeout, check=False
            )
        except subprocess.TimeoutExpired:
            raise ProviderError(f"ssh {self.host}: no answer within {timeout or self.timeout:g} s") from None
        except OSError as exc:
            raise ProviderError(f"ssh client: {exc}") from None
        if done.returncode == 255:
            raise ProviderError(f"ssh {self.host}: {done.stderr.decode(errors='replace').strip()[:500]}")
        if done.returncode != 0:
            raise ProviderError(
                f"ssh {self.host}: the remote script failed ({done.returncode}): "
                f"{done.stderr.decode(errors='replace').strip()[:500]}"
            )
        return done.stdout

    def _dir(self, job_id: str) -> str:
        if not _JOB_ID.fullmatch(job_id):
            raise JobNotFound(f"not an ssh job id: {job_id!r}")
        return f"{self._base()}/{job_id}"

    def _base(self) -> str:
        """``base_dir`` in shell words: an absolute path as is, a relative one under the login's home."""
        quoted = shlex.quote(self.base_dir)
        return quoted if self.base_dir.startswith("/") else f'"$HOME"/{quoted}'

    # -- the Provider contract ---------------------------------------------------------------------
    def deploy(self, spec: JobSpec, *, run_id: str, server_url: str, token: str | None) -> str:
        job_id = secrets.token_hex(16)
        env = execution_env(spec, run_id=run_id, server_url=server_url, token=token, ca_pem=self.context.ca_pem())
        bad = [k for k in env if not _ENV_NAME.fullmatch(k)]
        if bad:
            raise ProviderError(f"environment names the shell cannot export: {', '.join(map(repr, bad))}")
        argv = wrapped_argv(spec, run_id=run_id, server_url=server_url, client=self.client)
        end = "TB_" + secrets.token_hex(8)
        exports = "\n".join(f"export {k}={shlex.quote(v)}" for k, v in env.items())
        cd = f"cd {shlex.quote(spec.cwd)} || exit 126\n" if spec.cwd else ""
        job = f". ./env && rm -f ./env\n{ca_shell()}\n{cd}exec {shell_command(argv)}\n"
        d = self._dir(job_id)
        script = f"""set -e
umask 077
mkdir -p {d}
cd {d}
printf '%s\\n' {shlex.quote(run_id)} > run_id
cat > env <<'{end}'
{exports}
{end}
cat > job.sh <<'{end}'
{job}{end}
setsid sh -c 'sh ./job.sh > out.log 2>&1; echo $? > exit.tmp; mv exit.tmp exit' < /dev/null > /dev/null 2>&1 &
echo $! > pid
"""
        self._script(script)
        return job_id

    def status(self, job_id: str) -> JobStatus:
        d = self._dir(job_id)
        out = self._script(
            f"""cd {d} 2>/dev/null || {{ echo missing; exit 0; }}
if [ -f exit ]; then echo "exit $(cat exit)"; exit 0; fi
if kill -0 "$(cat pid 2>/dev/null || echo 0)" 2>/dev/null; then echo running; exit 0; fi
if [ -f cancelled ]; then echo cancelled; exit 0; fi
if [ -f exit ]; then echo "exit $(cat exit)"; else echo gone; fi
"""
        ).decode(errors="replace")
        word, _, rest = out.strip().partition(" ")
        if word == "missing":
            raise JobNotFound(f"no job {job_id} on {self.host}")
        if word == "running":
            return JobStatus(JobState.RUNNING, native="running")
        if word == "cancelled":
            return JobStatus(JobState.CANCELLED, reason="cancelled", native="cancelled")
        if word == "exit" and rest.strip().lstrip("-").isdigit():
            code = int(rest)
            if code == 0:
                return JobStatus(JobState.COMPLETED, exit_code=0, native="exit 0")
            sig = code - 128 if code > 128 else None
            return JobStatus(
                JobState.FAILED, exit_code=code, signal=sig, reason=f"exited with code {code}", native=f"exit {code}"
            )
        return JobStatus(JobState.LOST, reason=f"the job's process on {self.host} is gone", native="gone")

    def cancel(self, job_id: str) -> None:
        d = self._dir(job_id)
        grace = max(0.0, float(self.context.cancel_grace))
        self._script(
            f"""cd {d} 2>/dev/null || exit 0
[ -f exit ] && exit 0
touch cancelled
p="$(cat pid)"
kill -TERM "-$p" 2>/dev/null || exit 0  # dash's kill takes no "--"; "-PGID" is the job's process group
setsid sh -c 'sleep "$1"; kill -KILL "-$2" 2>/dev/null' tb {grace:g} "$p" < /dev/null > /dev/null 2>&1 &
"""
        )

    def logs(self, job_id: str, limit: int = 65536, offset: int = 0) -> bytes:
        d = self._dir(job_id)
        limit, offset = max(0, int(limit)), max(0, int(offset))
        return self._script(
            f"cd {d} 2>/dev/null || exit 0\ntail -c +{offset + 1} out.log 2>/dev/null | head -c {limit}\n"
        )

    def find(self, run_id: str) -> str | None:
        base = self._base()
        out = self._script(
            f"""for f in {base}/*/run_id; do
  [ -f "$f" ] && [ "$(cat "$f")" = {shlex.quote(run_id)} ] && basename "$(dirname "$f")"
done; exit 0
"""
        ).decode(errors="replace")
        found = [line for line in out.split() if _JOB_ID.fullmatch(line)]
        return found[0] if found else None

    def reachable(self) -> Reachability:
        try:
            self._script("echo ok", timeout=10)
        except ProviderError as exc:
            return Reachability(False, str(exc))
        return Reachability(True, f"ssh {self.host}: answered")


def create(config: Mapping[str, Any], context: ProviderContext) -> SshProvider:
    """``[providers.ssh]`` -> the provider; a missing or mistyped key is a ValueError naming it."""
    host = config.get("host")
    if not isinstance(host, str) or not host or host.startswith("-"):
        raise ValueError("[providers.ssh] host: the host to run jobs on is required (a name or address)")
    port = config.get("port", 22)
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise ValueError("[providers.ssh] port: must be a port number")
    client = config.get("client", ["trainboard"])
    if not isinstance(client, list) or not client or not all(isinstance(c, str) and c for c in client):
        raise ValueError("[providers.ssh] client: must be a list of words (the trainboard command on the host)")
    strings: dict[str, str | None] = {}
    for key in ("user", "identity_file", "known_hosts", "base_dir", "ssh"):
        value = config.get(key)
        if value is not None and (not isinstance(value, str) or not value or value.startswith("-")):
            raise ValueError(f"[providers.ssh] {key}: must be a non-empty string")
        strings[key] = value
    for key in ("identity_file", "known_hosts"):
        if strings[key] and not Path(str(strings[key])).is_file():
            raise ValueError(f"[providers.ssh] {key}: {strings[key]} is not a file")
    return SshProvider(
        host=host,
        context=context,
        user=strings["user"],
        port=port,
        identity_file=strings["identity_file"],
        known_hosts=strings["known_hosts"],
        client=client,
        base_dir=strings["base_dir"] or ".trainboard-ssh",
        ssh=strings["ssh"] or "ssh",
    )
