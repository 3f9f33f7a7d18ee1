"""Fail loudly when the test environment differs from ``requirements/test.lock``.

Run with the environment's own interpreter (``.venv/bin/python scripts/check_lock.py``): it compares every
distribution installed there with the lock's exact pins — a missing package, another version, or a package the
lock does not name (beyond the installer's own) is listed, and the exit status is 1. A drifted environment then
fails here, at install, with the names, instead of later as a type error or a changed default.
"""

from __future__ import annotations

import re
import sys
from importlib import metadata
from pathlib import Path

LOCK = Path(__file__).resolve().parent.parent / "requirements" / "test.lock"
#: installed beside the locked packages on purpose: the project itself and the installers
NOT_LOCKED = {"trainboard", "pip", "uv"}
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")


def normalise(name: str) -> str:
    """PEP 503 name normalisation (``Foo_Bar`` and ``foo-bar`` are one package)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def locked(lock: Path) -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in lock.read_text().splitlines():
        match = PIN.match(line)
        if match:
            pins[normalise(match.group(1))] = match.group(2)
    return pins


def installed() -> dict[str, str]:
    return {normalise(d.metadata["Name"]): d.version for d in metadata.distributions()}


def drift(pins: dict[str, str], have: dict[str, str]) -> list[str]:
    problems = []
    for name, version in sorted(pins.items()):
        if name not in have:
            problems.append(f"  missing   {name}=={version}")
        elif have[name] != version:
            problems.append(f"  version   {name}: installed {have[name]}, locked {version}")
    for name in sorted(set(have) - set(pins) - NOT_LOCKED):
        problems.append(f"  unlocked  {name}=={have[name]} (not in the lock)")
    return problems


def main() -> int:
    pins = locked(LOCK)
    problems = drift(pins, installed())
    if problems:
        print(f"the test environment ({sys.prefix}) differs from {LOCK.name}:", file=sys.stderr)
        print("\n".join(problems), file=sys.stderr)
        print("reinstall with scripts/test, or upgrade the lock deliberately with scripts/lock", file=sys.stderr)
        return 1
    print(f"test environment matches {LOCK.name}: {len(pins)} packages at their locked versions")
    return 0


if __name__ == "__main__":
    sys.exit(main())
