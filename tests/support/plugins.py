"""Installing the example plugins of ``plugins/`` the way a user does (pip, offline), into a throwaway folder that
a test puts on a process's ``PYTHONPATH``: discovery then goes through the installed ``*.dist-info`` entry point
metadata, never a hard-coded import."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PLUGINS = REPO / "plugins"


def install_plugin(name: str, target: Path) -> Path:
    """``pip install --target target plugins/<name>`` (no index, no dependencies: trainboard is already there);
    returns ``target``."""
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
    assert list(target.glob(f"{name.replace('-', '_')}-*.dist-info/entry_points.txt")), list(target.iterdir())
    return target
