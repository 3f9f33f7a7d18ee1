"""The ``trainboard-ssh`` example plugin, installed with pip into a folder on the server's ``PYTHONPATH`` and found
through its entry point, launching jobs on Debian's OpenSSH server started by the test.

The sshd runs in a network namespace the test creates (``ip netns add``, a veth pair 10.213.N.1 <-> 10.213.N.2),
listening on the namespace's address only, with its own host key, ``authorized_keys`` and ``known_hosts`` made in
``tmp_path`` (the client checks the host key strictly). The job runs inside that namespace and reaches the server at
the veth's host side, so the server binds that address with accounts on (an admin token drives the API) and
``public_url`` names it. Where namespaces are refused (not root, no CAP_NET_ADMIN) sshd listens on 127.0.0.1 on a
free port instead (``NETWORK`` says which). The job's output must arrive byte-exact, its exit code must end the run,
and cancel must stop it.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.support.launch import ended, wait_for
from tests.support.plugins import PluginServer, install_plugin
from tests.support.servers import ServerProcess, free_port

SSHD = "/usr/sbin/sshd"
pytestmark = pytest.mark.skipif(not Path(SSHD).exists() or not shutil.which("ssh"), reason="OpenSSH not installed")


def _ip(*args: str) -> bool:
    return subprocess.run(["ip", *args], capture_output=True, check=False).returncode == 0


@pytest.fixture(scope="module")
def network() -> Iterator[dict[str, str]]:
    """``{"ns": name or "", "server": address the server binds, "sshd": address sshd listens on}``."""
    tag = secrets.token_hex(3)
    ns, host_if, ns_if = f"tbssh{tag}", f"vh{tag}", f"vn{tag}"
    octet = str(int(tag, 16) % 250 + 1)
    server, remote = f"10.213.{octet}.1", f"10.213.{octet}.2"
    made = shutil.which("ip") is not None and _ip("netns", "add", ns)
    try:
        if made:
            for step in (
                ["link", "add", host_if, "type", "veth", "peer", "name", ns_if],
                ["link", "set", ns_if, "netns", ns],
                ["addr", "add", f"{server}/30", "dev", host_if],
                ["link", "set", host_if, "up"],
                ["netns", "exec", ns, "ip", "addr", "add", f"{remote}/30", "dev", ns_if],
                ["netns", "exec", ns, "ip", "link", "set", ns_if, "up"],
                ["netns", "exec", ns, "ip", "link", "set", "lo", "up"],
            ):
                assert _ip(*step), step
            yield {"ns": ns, "server": server, "sshd": remote}
        else:
            yield {"ns": "", "server": "127.0.0.1", "sshd": "127.0.0.1"}
    finally:
        if made:
            _ip("netns", "del", ns)  # takes the veth pair with it
            _ip("link", "del", host_if)


@pytest.fixture(scope="module")
def sshd(network: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    d = tmp_path_factory.mktemp("sshd")
    for key in ("host", "client"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(d / key)], check=True)
    (d / "authorized_keys").write_text((d / "client.pub").read_text())
    os.chmod(d / "authorized_keys", 0o600)
    address = network["sshd"]
    port = 22 if network["ns"] else free_port()
    known = address if port == 22 else f"[{address}]:{port}"  # how ssh names a host in known_hosts
    (d / "known_hosts").write_text(f"{known} {(d / 'host.pub').read_text()}")
    (d / "sshd_config").write_text(
        f"Port {port}\nListenAddress {address}\nHostKey {d / 'host'}\nPidFile {d / 'sshd.pid'}\n"
        f"AuthorizedKeysFile {d / 'authorized_keys'}\nStrictModes no\nUsePAM no\nPasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\nAllowTcpForwarding no\n"
        "X11Forwarding no\nPermitUserEnvironment no\nSubsystem sftp internal-sftp\n"
    )
    os.makedirs("/run/sshd", exist_ok=True)  # privilege separation directory Debian's sshd requires
    prefix = ["ip", "netns", "exec", network["ns"]] if network["ns"] else []
    with open(d / "sshd.log", "wb") as log:
        proc = subprocess.Popen([*prefix, SSHD, "-D", "-e", "-f", str(d / "sshd_config")], stderr=log)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection((address, port), timeout=1).close()
                break
            except OSError:
                assert proc.poll() is None, (d / "sshd.log").read_text()
                time.sleep(0.05)
        yield {
            "host": address,
            "port": str(port),
            "identity": str(d / "client"),
            "known_hosts": str(d / "known_hosts"),
        }
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture(scope="module")
def plugin_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return install_plugin("trainboard-ssh", tmp_path_factory.mktemp("site"))


def _cli(data: Path, *args: str, stdin: str = "") -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRAINBOARD_")}
    done = subprocess.run(
        [sys.executable, "-m", "trainboard.cli", *args, "--data", str(data)],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def server(
    network: dict[str, str], sshd: dict[str, str], plugin_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PluginServer]:
    data = tmp_path_factory.mktemp("data")
    client = [str(Path(sys.executable).with_name("trainboard"))]
    proc = PluginServer(data_dir=data, db_url=None)
    public = f'public_url = "http://{network["server"]}:{proc.port}"\n' if network["ns"] else ""
    (data / "providers.toml").write_text(
        f'{public}[providers.ssh]\nhost = "{sshd["host"]}"\n'
        f'port = {sshd["port"]}\nuser = "root"\nidentity_file = "{sshd["identity"]}"\n'
        f'known_hosts = "{sshd["known_hosts"]}"\nclient = {client!r}\nbase_dir = "{data / "remote"}"\n'.replace(
            "'", '"'
        )
    )
    if network["ns"]:  # off loopback: accounts on, and the API driven by an admin's token
        _cli(data, "user", "add", "ann", "--role", "admin", stdin="a long enough password\n")
        proc.token = _cli(data, "token", "create", "--name", "ssh-test", "--user", "ann", "--scope", "admin").split()[
            -1
        ]
    proc.host = network["server"]
    proc.extra_args = ["--host", network["server"], "--allow-launch", "--plugin", "ssh", "--cancel-grace", "2"]
    proc.site = str(plugin_path)
    proc.start()
    yield proc
    proc.stop()


@pytest.fixture
def http(server: PluginServer) -> Iterator[httpx.Client]:
    with server.client() as client:
        if server.token:
            client.headers["Authorization"] = f"Bearer {server.token}"
        yield client


def launch(http: httpx.Client, *argv: str) -> str:
    resp = http.post("/api/launch", json={"provider": "ssh", "argv": list(argv), "name": "over-ssh"})
    assert resp.status_code == 201, resp.text
    return str(resp.json()["id"])


def test_the_plugin_provider_is_listed_and_reachable(http: httpx.Client, sshd: dict[str, str]) -> None:
    body = http.get("/api/providers").json()
    by_name = {p["name"]: p for p in body["providers"]}
    assert by_name["ssh"]["reachable"] is True, by_name
    assert by_name["ssh"]["detail"] == f"ssh {sshd['host']}: answered"


def test_output_arrives_byte_exact_and_exit_code_ends_the_run(http: httpx.Client) -> None:
    payload = "héllo wörld ✓\r\n\x1b[31mred\x1b[0m tab\there\nno newline at the end"
    script = f"import sys; sys.stdout.buffer.write({payload.encode()!r}); sys.stdout.flush(); sys.exit(3)"
    run_id = launch(http, sys.executable, "-c", script)
    run = ended(http, run_id, 90)
    assert run["status"] == "failed" and run["exit_code"] == 3
    log = http.get(f"/api/runs/{run_id}/logs").content
    # what a terminal receives: the bytes as written, with the pseudo-terminal's \n -> \r\n (so \r\n -> \r\r\n)
    assert log == payload.encode().replace(b"\n", b"\r\n")


def test_cancel_stops_the_remote_job(http: httpx.Client, server: ServerProcess) -> None:
    run_id = launch(
        http, sys.executable, "-u", "-c", "import time\nfor i in range(600):\n print('tick', i)\n time.sleep(0.2)"
    )
    wait_for("the job's output", lambda: b"tick 3" in http.get(f"/api/runs/{run_id}/logs").content, 60)
    resp = http.post(f"/api/runs/{run_id}/cancel")
    assert resp.status_code == 200, resp.text
    run = ended(http, run_id, 60)
    assert run["status"] == "interrupted"
    [job] = [p for p in (server.data_dir / "remote").iterdir() if (p / "cancelled").exists()]
    pid = int((job / "pid").read_text())
    wait_for("the job's processes to be gone", lambda: not _alive(pid), 15)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_an_installed_plugin_not_enabled_is_not_loaded(sshd: dict[str, str], plugin_path: Path, tmp_path: Path) -> None:
    (tmp_path / "providers.toml").write_text('[providers.ssh]\nhost = "127.0.0.1"\n')
    env = dict(os.environ, PYTHONPATH=str(plugin_path), TRAINBOARD_DATA=str(tmp_path))
    env.pop("TRAINBOARD_PLUGINS", None)
    done = subprocess.run(
        [sys.executable, "-m", "trainboard.cli", "serve", "--allow-launch", "--port", str(free_port())],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "unknown provider [providers.ssh]" in done.stderr
    assert "trainboard-ssh 0.1.0 provides it: enable it with trainboard serve --plugin ssh" in done.stderr
