"""Installing the example plugins of ``plugins/`` the way a user does (pip, offline), into a throwaway folder that
a test puts on a process's ``PYTHONPATH``: discovery then goes through the installed ``*.dist-info`` entry point
metadata, never a hard-coded import."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.servers import ServerProcess

REPO = Path(__file__).resolve().parents[2]
PLUGINS = REPO / "plugins"


def install_plugin(name: str | Path, target: Path) -> Path:
    """``pip install --target target plugins/<name>`` (or the project folder ``name``; no index, no dependencies:
    trainboard is already there); returns ``target``."""
    source = name if isinstance(name, Path) else PLUGINS / name
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-index",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(target),
            str(PLUGINS / name),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    dist = source.name.replace("-", "_")
    assert list(target.glob(f"{dist}-*.dist-info/entry_points.txt")), list(target.iterdir())
    return target


class PluginServer(ServerProcess):
    """A ``trainboard serve`` whose interpreter also sees ``site`` (where plugins were installed)."""

    site: str = ""
    #: The address it binds (``--host``) and is reached at; the token a test's client sends (accounts on).
    host: str = "127.0.0.1"
    token: str = ""

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def env(self) -> dict[str, str]:
        env = super().env()
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [self.site, env.get("PYTHONPATH", "")]))
        env.pop("TRAINBOARD_PLUGINS", None)
        return env
