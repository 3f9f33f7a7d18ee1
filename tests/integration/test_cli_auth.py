"""Authentication from the client side, through the real ``trainboard`` command and a real ``serve`` with auth on:
``user add`` (password on stdin), ``token create`` (the token is the last word), ``token list`` / ``revoke`` (a
revoked token is refused at once), ``login`` (a 0600 file that later commands use) / ``logout``, the SDK with
``TRAINBOARD_TOKEN``, and the SDK without a token: the data stays spooled and ``trainboard sync --token`` uploads it."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from tests.support.servers import API_HEADERS, ServerProcess

ENTRY = Path(sys.executable).with_name("trainboard")
PASSWORD = "correct horse battery staple"


@dataclass
class Env:
    """A private environment: its own config folder (credentials file) and no token from the caller."""

    tmp: Path
    data: Path

    def vars(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRAINBOARD_")}
        env.update(
            TRAINBOARD_CONFIG_DIR=str(self.tmp / "config"),
            TRAINBOARD_DATA=str(self.tmp / "client-data"),
            HOME=str(self.tmp / "home"),
            PYTHONUNBUFFERED="1",
            COLUMNS="200",
        )
        env.update(extra)
        return env

    def cli(self, *args: str, stdin: str | None = None, **extra: str) -> subprocess.CompletedProcess[str]:
        argv = [str(ENTRY)] if ENTRY.exists() else [sys.executable, "-m", "trainboard.cli"]
        return subprocess.run(
            [*argv, *args], input=stdin or "", capture_output=True, text=True, timeout=120, env=self.vars(**extra)
        )

    def server_cli(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        """A server-side command on the server's data directory."""
        return self.cli(*args, "--data", str(self.data), stdin=stdin)

    def admin_token(self, name: str = "ci", *more: str) -> str:
        done = self.server_cli("token", "create", "--name", name, *more)
        assert done.returncode == 0, done.stderr
        token = done.stdout.split()[-1]
        assert token.startswith("tb_")
        return token


@pytest.fixture
def env(tmp_path: Path) -> Env:
    return Env(tmp_path, tmp_path / "server-data")


@pytest.fixture
def auth_server(env: Env) -> Iterator[ServerProcess]:
    """A loopback server with one admin (so authentication is on)."""
    added = env.server_cli("user", "add", "ann", "--role", "admin", stdin=PASSWORD + "\n")
    assert added.returncode == 0, added.stderr
    server = ServerProcess(data_dir=env.data, db_url=None).start()
    yield server
    server.stop()


def _no_traceback(done: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in done.stderr + done.stdout


def test_user_add_reads_the_password_from_stdin_and_it_logs_in(env: Env, auth_server: ServerProcess) -> None:
    listed = env.server_cli("user", "list")
    assert listed.returncode == 0 and "ann" in listed.stdout and "admin" in listed.stdout
    again = env.server_cli("user", "add", "ann", "--role", "admin", stdin="other password\n")
    assert again.returncode == 1 and "error:" in again.stderr
    _no_traceback(again)
    empty = env.server_cli("user", "add", "bob", "--role", "viewer", stdin="\n")
    assert empty.returncode == 1 and "no password given" in empty.stderr
    bad_role = env.server_cli("user", "add", "bob", "--role", "boss", stdin="pw-pw-pw-pw\n")
    assert bad_role.returncode == 1 and "boss" in bad_role.stderr
    _no_traceback(bad_role)
    with httpx.Client(base_url=auth_server.url, headers=API_HEADERS) as c:
        assert c.post("/api/auth/login", json={"username": "ann", "password": "wrong"}).status_code == 401
        ok = c.post("/api/auth/login", json={"username": "ann", "password": PASSWORD})
        assert ok.status_code == 200 and ok.json()["user"] == {"name": "ann", "role": "admin"}
    last_admin = env.server_cli("user", "remove", "ann")
    assert last_admin.returncode == 1 and "last admin" in last_admin.stderr
    _no_traceback(last_admin)
    assert env.server_cli("user", "add", "cat", "--role", "viewer", stdin="cat's password\n").returncode == 0
    removed = env.server_cli("user", "remove", "cat")
    assert removed.returncode == 0
    remaining = env.server_cli("user", "list").stdout
    assert "cat" not in remaining and "ann" in remaining


def test_token_create_list_and_revoke(env: Env, auth_server: ServerProcess) -> None:
    url = auth_server.url
    created = env.server_cli("token", "create", "--name", "ci", "--scope", "read", "--user", "ann", "--expires", "30d")
    assert created.returncode == 0, created.stderr
    token = created.stdout.split()[-1]  # the last word of the output, printed once
    assert token.startswith("tb_") and len(token) > 40

    refused = env.cli("ls", "--url", url)
    assert refused.returncode == 1
    assert "refused the credentials (HTTP 401" in refused.stderr and "trainboard login" in refused.stderr
    _no_traceback(refused)

    listed = env.cli("ls", "--url", url, "--token", token)
    assert listed.returncode == 0, listed.stderr
    assert token not in listed.stdout + listed.stderr
    by_env = env.cli("ls", "--url", url, TRAINBOARD_TOKEN=token)
    assert by_env.returncode == 0, by_env.stderr

    table = env.server_cli("token", "list")
    assert table.returncode == 0
    row = next(line for line in table.stdout.splitlines() if " ci " in f" {line} ")
    assert "read" in row and "ann" in row
    assert len(re.findall(r"\d{4}-\d\d-\d\d \d\d:\d\d", row)) == 3  # created, expires, last used (by ls)
    assert token not in table.stdout and "revoked" not in row
    token_id = row.split()[0]

    revoked = env.server_cli("token", "revoke", token_id)
    assert revoked.returncode == 0, revoked.stderr
    after = env.cli("ls", "--url", url, "--token", token)
    assert after.returncode == 1 and "invalid, expired or revoked token" in after.stderr
    assert token not in after.stdout + after.stderr
    assert "revoked" in env.server_cli("token", "list").stdout

    unknown = env.server_cli("token", "revoke", "9999")
    assert unknown.returncode == 1 and "error:" in unknown.stderr
    bad = env.server_cli("token", "create", "--name", "x", "--scope", "write", "--expires", "soon")
    assert bad.returncode == 2 and "--expires" in bad.stderr
    _no_traceback(bad)


def test_a_read_token_cannot_write_and_says_so(env: Env, auth_server: ServerProcess) -> None:
    token = env.admin_token("reader", "--scope", "read")
    script = env.tmp / "cmd.py"
    script.write_text("print('hello')\n")
    done = env.cli(
        "run", "--url", auth_server.url, "--token", token, "--flush-timeout", "2", "--", sys.executable, str(script)
    )
    assert done.returncode == 0  # the command's own exit code: training is never stopped by the dashboard
    assert "HTTP 403" in done.stderr and "trainboard sync --token" in done.stderr
    assert token not in done.stdout + done.stderr


def test_login_stores_the_token_for_that_url_and_commands_use_it(env: Env, auth_server: ServerProcess) -> None:
    url = auth_server.url
    token = env.admin_token("laptop", "--scope", "write", "--user", "ann")
    stored = env.tmp / "config" / "credentials.json"

    wrong = env.cli("login", url, stdin="tb_not-a-real-token\n")
    assert wrong.returncode == 1 and "did not accept this token" in wrong.stderr
    assert not stored.exists()

    done = env.cli("login", url + "/", stdin=token + "\n")
    assert done.returncode == 0, done.stderr
    assert "as ann (admin)" in done.stdout
    assert token not in done.stdout + done.stderr
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert token in stored.read_text()

    listed = env.cli("ls", "--url", url)  # no --token, no TRAINBOARD_TOKEN: the stored one
    assert listed.returncode == 0, listed.stderr
    script = env.tmp / "train.py"
    script.write_text(_TRAIN.format(url=url, name="logged-in"))
    sdk = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, env=env.vars())
    assert sdk.returncode == 0, sdk.stderr
    assert "refused" not in sdk.stderr
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as c:
        run = c.get(f"/api/runs/{sdk.stdout.split()[-1]}").json()
        assert run["name"] == "logged-in" and run["created_by"] == "ann"

    out = env.cli("logout", url)
    assert out.returncode == 0 and "forgot" in out.stdout
    assert token not in stored.read_text()
    assert env.cli("ls", "--url", url).returncode == 1


_TRAIN = textwrap.dedent(
    """\
    import trainboard
    run = trainboard.init("{name}", dashboard_url="{url}", flush_timeout=3, capture_output=False,
                          system_metrics=False)
    for step in range(20):
        run.log_metrics({{"loss": 1.0 / (step + 1)}}, step=step)
    print("spooled", run.run_id)
    run.finish()
    """
)


def test_the_sdk_reports_with_trainboard_token(env: Env, auth_server: ServerProcess) -> None:
    token = env.admin_token("gpu-box", "--scope", "write")
    script = env.tmp / "train.py"
    script.write_text(_TRAIN.format(url=auth_server.url, name="remote"))
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, env=env.vars(TRAINBOARD_TOKEN=token)
    )
    assert done.returncode == 0, done.stderr
    assert token not in done.stdout + done.stderr
    run_id = done.stdout.split()[-1]
    with httpx.Client(base_url=auth_server.url, headers={"Authorization": f"Bearer {token}"}) as c:
        metrics = c.get(f"/api/runs/{run_id}/metrics").json()["metrics"]
        assert len(metrics["loss"]["step"]) == 20
        assert c.get(f"/api/runs/{run_id}").json()["status"] == "completed"
    exported = env.cli("export", run_id, "--url", auth_server.url, "--token", token)
    assert exported.returncode == 0 and len(exported.stdout.splitlines()) == 21  # header + 20 points
    followed = env.cli("logs", "remote", "--follow", "--url", auth_server.url, TRAINBOARD_TOKEN=token)
    assert followed.returncode == 0, followed.stderr
    for args in (["export", run_id], ["logs", run_id], ["logs", run_id, "--grep", "x"]):
        refused = env.cli(*args, "--url", auth_server.url)
        assert refused.returncode == 1 and "refused the credentials (HTTP 401" in refused.stderr, args
        _no_traceback(refused)


def test_without_a_token_the_sdk_keeps_the_data_and_sync_uploads_it(env: Env, auth_server: ServerProcess) -> None:
    url = auth_server.url
    script = env.tmp / "train.py"
    script.write_text(_TRAIN.format(url=url, name="spooled"))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, env=env.vars())
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("refused the credentials (HTTP 401") == 1  # warned once, not per request
    assert "trainboard sync --token" in done.stderr
    run_id = done.stdout.split()[-1]
    spool = env.tmp / "client-data" / "spool"
    assert not list(spool.rglob("*.dead.jsonl"))  # kept in the journal, not a dead letter

    token = env.admin_token("sync", "--scope", "write")
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as c:
        assert c.get(f"/api/runs/{run_id}").status_code == 404

        without = env.cli("sync", "--url", url)
        assert without.returncode == 1 and "nothing was lost" in without.stderr
        _no_traceback(without)

        synced = env.cli("sync", "--url", url, "--token", token)
        assert synced.returncode == 0, synced.stderr
        assert token not in synced.stdout + synced.stderr
        assert not list(spool.rglob("*.dead.jsonl"))
        metrics = c.get(f"/api/runs/{run_id}/metrics").json()["metrics"]
        assert metrics["loss"]["step"] == list(range(20))
        assert c.get(f"/api/runs/{run_id}").json()["status"] == "completed"


def test_a_run_scoped_token_reports_its_run_only(env: Env, auth_server: ServerProcess) -> None:
    url = auth_server.url
    token = env.admin_token("job-1", "--scope", "write", "--run", "job-1-run")
    script = env.tmp / "train.py"
    script.write_text(
        _TRAIN.format(url=url, name="scoped").replace(
            "system_metrics=False)", 'system_metrics=False, run_id="job-1-run")'
        )
    )
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, env=env.vars(TRAINBOARD_TOKEN=token)
    )
    assert done.returncode == 0 and "refused" not in done.stderr, done.stderr
    other = env.cli("ls", "--url", url, "--token", token)
    assert other.returncode == 1 and "HTTP 403" in other.stderr
    admin = env.admin_token("admin", "--scope", "admin", "--user", "ann")
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {admin}"}) as c:
        assert c.get("/api/runs/job-1-run").json()["status"] == "completed"


def _on_terminal(env: Env, argv: list[str], answers: list[tuple[bytes, bytes]]) -> tuple[int, bytes]:
    """Run the CLI on a pseudo-terminal, answering each prompt; (exit code, everything the terminal showed)."""
    import pty
    import select

    command = [str(ENTRY)] if ENTRY.exists() else [sys.executable, "-m", "trainboard.cli"]
    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - the child
        os.execve(command[0], [*command, *argv], env.vars())
    shown = b""
    pending = list(answers)
    try:
        while True:
            ready, _, _ = select.select([fd], [], [], 60)
            assert ready, f"no output; the terminal showed {shown!r}"
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            shown += chunk
            if pending and shown.rstrip().endswith(pending[0][0]):
                os.write(fd, pending.pop(0)[1])
    finally:
        os.close(fd)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), shown


def test_user_add_on_a_terminal_asks_twice_without_echo(env: Env) -> None:
    secret = b"terminal-pass-42"
    data = ["--data", str(env.data)]
    code, shown = _on_terminal(
        env, ["user", "add", "tess", "--role", "editor", *data], [(b"Password:", secret + b"\r"), (b"(again):", b"x\r")]
    )
    assert code == 1 and b"the two passwords differ" in shown
    assert secret not in shown
    code, shown = _on_terminal(
        env,
        ["user", "add", "tess", "--role", "editor", *data],
        [(b"Password:", secret + b"\r"), (b"(again):", secret + b"\r")],
    )
    assert code == 0 and b"created user tess (role editor)" in shown
    assert secret not in shown
