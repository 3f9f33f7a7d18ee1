"""scripts/check_lock.py: a test environment that drifted from requirements/test.lock is named, package by package."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_lock", ROOT / "scripts" / "check_lock.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_lock_pins_every_package_once_with_hashes() -> None:
    check = load()
    text = (ROOT / "requirements" / "test.lock").read_text()
    pins = check.locked(ROOT / "requirements" / "test.lock")
    assert {"redis", "mypy", "fastapi", "torch", "hatchling"} <= set(pins)
    assert pins["torch"].startswith("2.13.0")
    assert text.count("--hash=sha256:") >= len(pins)  # --require-hashes refuses a pin without one


def test_drift_names_missing_changed_and_unlocked_packages() -> None:
    check = load()
    pins = {"redis": "8.2.0", "mypy": "2.4.1", "typing-extensions": "4.15.0"}
    have = {"redis": "8.3.0", "typing-extensions": "4.15.0", "leftover": "1.0", "trainboard": "0.1.0", "pip": "25"}
    assert check.drift(pins, have) == [
        "  missing   mypy==2.4.1",
        "  version   redis: installed 8.3.0, locked 8.2.0",
        "  unlocked  leftover==1.0 (not in the lock)",
    ]
    assert check.drift(pins, {**pins, "trainboard": "0.1.0"}) == []


def test_names_are_compared_as_pip_compares_them(tmp_path: Path) -> None:
    check = load()
    lock = tmp_path / "x.lock"
    lock.write_text("Typing_Extensions==4.15.0 \\\n    --hash=sha256:00\nzope.interface==8.0 ; python_version >= '3'\n")
    assert check.locked(lock) == {"typing-extensions": "4.15.0", "zope-interface": "8.0"}


def test_a_drifted_environment_fails_with_the_names(tmp_path: Path) -> None:
    """Run as scripts/test runs it, against a lock that pins a version this interpreter does not have."""
    script = (ROOT / "scripts" / "check_lock.py").read_text()
    (tmp_path / "scripts").mkdir()
    (tmp_path / "requirements").mkdir()
    (tmp_path / "scripts" / "check_lock.py").write_text(script)
    (tmp_path / "requirements" / "test.lock").write_text("pytest==0.0.1 \\\n    --hash=sha256:00\n")
    done = subprocess.run(
        [sys.executable, str(tmp_path / "scripts" / "check_lock.py")], capture_output=True, text=True, check=False
    )
    assert done.returncode == 1
    assert "locked 0.0.1" in done.stderr and "pytest: installed" in done.stderr
    assert "(not in the lock)" in done.stderr  # everything else installed here is unlocked in that lock
