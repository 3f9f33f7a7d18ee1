"""Building the package without Node.js: the client installs, the UI is left out with one warning; a build
that must carry the UI (``TRAINBOARD_REQUIRE_WEB_BUILD=1``, for wheels to distribute) fails instead.

Builds a wheel with pip from a copy of this tree whose UI was never built, with no ``npm`` on PATH.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def unbuilt_tree(tmp_path: Path) -> Path:
    """The package's sources and web/package.json, without web/node_modules or a built UI."""
    tree = tmp_path / "tree"
    tree.mkdir()
    for name in ("pyproject.toml", "hatch_build.py", "README.md"):
        shutil.copy(REPO / name, tree / name)
    shutil.copytree(REPO / "src", tree / "src", ignore=shutil.ignore_patterns("static", "__pycache__", "*.egg-info"))
    (tree / "web").mkdir()
    shutil.copy(REPO / "web" / "package.json", tree / "web" / "package.json")
    return tree


def build_wheel(tree: Path, out: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """``pip wheel`` with PATH holding only this Python's directory (no npm, no node)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TRAINBOARD_") and k != "PYTHONPATH"}
    clean |= {"PATH": str(Path(sys.executable).parent)} | env
    assert shutil.which("npm", path=clean["PATH"]) is None
    cmd = [sys.executable, "-m", "pip", "wheel", "-v", "--no-deps", "--disable-pip-version-check", "-w", str(out)]
    return subprocess.run([*cmd, str(tree)], capture_output=True, text=True, env=clean, timeout=300, check=False)


def test_without_npm_the_wheel_builds_without_the_ui(unbuilt_tree: Path, tmp_path: Path) -> None:
    done = build_wheel(unbuilt_tree, tmp_path / "out")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    output = done.stdout + done.stderr
    assert output.count("`npm` was not found on PATH") == 1
    assert "the dashboard will have no web UI" in output
    (wheel,) = (tmp_path / "out").glob("trainboard-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "trainboard/sdk/pty_runner.py" in names
    assert not any(n.startswith("trainboard/server/static/") for n in names)


def test_a_distribution_build_without_npm_fails(unbuilt_tree: Path, tmp_path: Path) -> None:
    done = build_wheel(unbuilt_tree, tmp_path / "out", TRAINBOARD_REQUIRE_WEB_BUILD="1")
    assert done.returncode != 0
    assert "TRAINBOARD_REQUIRE_WEB_BUILD is set" in done.stdout + done.stderr
    assert not list((tmp_path / "out").glob("*.whl"))
