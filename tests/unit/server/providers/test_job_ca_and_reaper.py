"""The pieces behind launched jobs reaching a private-CA server and ending while no server watches:
``ca_shell`` (remote jobs write ``$TRAINBOARD_CA_PEM`` to the file ``TRAINBOARD_CA_BUNDLE`` names), the CA
choice of ``build_registry``, and ``local_reaper`` (the exit status a local job leaves behind)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from trainboard.server.providers import local_reaper
from trainboard.server.providers.base import ca_shell
from trainboard.server.providers.ray import entrypoint
from trainboard.server.providers.registry import ConfigError, build_registry, load_config
from trainboard.server.providers.slurm import batch_script

PEM = "-----BEGIN CERTIFICATE-----\nMIIB'\"$(id)`x`\n-----END CERTIFICATE-----"


@pytest.mark.parametrize("shell", ["sh", "bash"])
def test_ca_shell_writes_the_pem_and_exports_the_bundle(shell: str, tmp_path: Path) -> None:
    if shutil.which(shell) is None:
        pytest.skip(f"no {shell}")
    script = f'{ca_shell()}; printf "%s|" "$TRAINBOARD_CA_BUNDLE"; cat "$TRAINBOARD_CA_BUNDLE"'
    done = subprocess.run(
        [shell, "-c", script], env={"TRAINBOARD_CA_PEM": PEM, "TMPDIR": str(tmp_path)}, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    path, _, text = done.stdout.partition("|")
    assert Path(path).parent == tmp_path and text == PEM + "\n"  # the text as sent: nothing in it was run


def test_ca_shell_does_nothing_without_a_pem() -> None:
    done = subprocess.run(["sh", "-c", f'{ca_shell()}; echo "[$TRAINBOARD_CA_BUNDLE]"'], env={}, capture_output=True)
    assert done.stdout == b"[]\n"


def test_ray_and_slurm_write_the_ca_only_when_there_is_one(tmp_path: Path) -> None:
    assert ca_shell() not in entrypoint(["trainboard", "run"], None)
    assert entrypoint(["trainboard", "run"], "/w", ca=True).startswith(ca_shell() + "; cd -- /w && exec ")
    plain = batch_script(["trainboard"], exit_file_stem=tmp_path / "s", run_id="r1")
    assert ca_shell() not in plain
    assert ca_shell() in batch_script(["trainboard"], exit_file_stem=tmp_path / "s", run_id="r1", ca=True)


def test_the_ca_jobs_trust(tmp_path: Path) -> None:
    cert = tmp_path / "server.pem"
    cert.write_text(PEM)

    def ca(url: str, server_cert: Path | None) -> Path | None:
        reg = build_registry(local_url=url, server_cert=server_cert, data_dir=tmp_path, launch_root=tmp_path)
        return reg.contexts["local"].ca_bundle

    # the server's own certificate, for jobs reaching the server at its own (https) address
    assert ca("https://127.0.0.1:8443", cert) == cert
    assert ca("http://127.0.0.1:8000", None) is None
    # providers.toml's ca_bundle wins (relative to the file's folder)
    (tmp_path / "ca.pem").write_text(PEM)
    (tmp_path / "providers.toml").write_text('public_url = "https://tb.example.org"\nca_bundle = "ca.pem"\n')
    assert ca("https://127.0.0.1:8443", cert) == (tmp_path / "ca.pem").resolve()
    reg = build_registry(local_url="https://127.0.0.1:8443", data_dir=tmp_path, launch_root=tmp_path)
    assert reg.contexts["local"].ca_pem() == PEM
    (tmp_path / "providers.toml").write_text('ca_bundle = "missing.pem"\n')
    with pytest.raises(ConfigError, match=r"ca_bundle 'missing\.pem' is not a file"):
        load_config(tmp_path / "providers.toml")


def _reap(tmp_path: Path, *argv: str) -> tuple[int, dict[str, object]]:
    status = tmp_path / "exit.json"
    done = subprocess.run([sys.executable, local_reaper.__file__, str(status), "--", *argv], timeout=30)
    return done.returncode, json.loads(status.read_text())


def test_the_reaper_records_an_exit_code_and_exits_with_it(tmp_path: Path) -> None:
    code, status = _reap(tmp_path, sys.executable, "-c", "raise SystemExit(7)")
    assert code == 7 and (status["exit_code"], status["signal"]) == (7, None)


def test_the_reaper_records_a_signal_and_dies_by_it(tmp_path: Path) -> None:
    code, status = _reap(tmp_path, sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGKILL)")
    assert code == -signal.SIGKILL
    assert (status["exit_code"], status["signal"]) == (128 + signal.SIGKILL, signal.SIGKILL)


def test_the_reaper_leaves_sigterm_to_the_command(tmp_path: Path) -> None:
    """A cancel's SIGTERM reaches the whole group; the reaper stays to record how the command ended."""
    status = tmp_path / "exit.json"
    child = (
        "import signal, sys, time\n"
        "signal.signal(signal.SIGTERM, lambda *a: sys.exit(42))\n"
        "print('ready', flush=True)\n"
        "time.sleep(30)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, local_reaper.__file__, str(status), "--", sys.executable, "-c", child],
        stdout=subprocess.PIPE,
        start_new_session=True,
    )
    assert proc.stdout is not None
    with proc.stdout:
        assert proc.stdout.readline() == b"ready\n"
        os.killpg(proc.pid, signal.SIGTERM)
        assert proc.wait(90) == 42  # (a loaded CI machine once took over 30 s)
    assert json.loads(status.read_text())["exit_code"] == 42


def test_a_missing_command_is_127(tmp_path: Path) -> None:
    code, status = _reap(tmp_path, str(tmp_path / "no-such-program"))
    assert code == 127 and status["exit_code"] == 127
