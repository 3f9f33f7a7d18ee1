"""The package's shape: the public SDK surface, and dependencies pointing one way."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import trainboard

SRC = Path(trainboard.__file__).parent


def test_public_names_match_all() -> None:
    public = {name for name in dir(trainboard) if not name.startswith("_")} | {"TrainingMonitor"}
    assert set(trainboard.__all__) == {"TrainingMonitor", "__version__", "finish", "init", "log"}
    assert set(trainboard.__all__) - {"__version__"} <= public
    for name in trainboard.__all__:
        assert getattr(trainboard, name).__doc__ or name == "__version__", name


def test_import_trainboard_is_light() -> None:
    code = (
        "import sys, trainboard; from trainboard import TrainingMonitor; "
        "bad = [m for m in ('fastapi', 'sqlalchemy', 'uvicorn', 'numpy', 'trainboard.server') if m in sys.modules];"
        "print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_sdk_never_imports_the_server() -> None:
    for path in (SRC / "sdk").rglob("*.py"):
        bad = {
            n
            for n in imports_of(path)
            if n.split(".")[0] in ("fastapi", "sqlalchemy", "starlette", "numpy") or n.startswith("trainboard.server")
        }
        assert not bad, f"{path.name} imports {bad}"


def test_storage_and_streams_never_import_the_api() -> None:
    for sub in ("store", "stream", "loglines"):
        for path in (SRC / "server" / sub).rglob("*.py"):
            bad = {n for n in imports_of(path) if n.startswith(("trainboard.server.api", "fastapi", "trainboard.cli"))}
            assert not bad, f"{sub}/{path.name} imports {bad}"
