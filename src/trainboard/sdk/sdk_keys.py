"""Which metric keys the SDK inside ``trainboard run`` logged, told to the runner through a file.

``trainboard run`` parses metrics from the command's output; a parsed metric must never override one the
command's own SDK logged. The runner names a file in ``$TRAINBOARD_SDK_KEYS_FILE``; the SDK attached to the run
appends each key the first time it logs it (one per line); the runner reads the new lines before it sends
parsed points and drops the keys found there.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

__all__ = ["ENV_SDK_KEYS", "KeyNote", "KeyReader"]

ENV_SDK_KEYS = "TRAINBOARD_SDK_KEYS_FILE"


class KeyNote:
    """The SDK's side: appends keys not noted before. Never raises (the SDK never breaks training)."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._seen: set[str] = set()

    @classmethod
    def from_env(cls) -> KeyNote | None:
        path = os.environ.get(ENV_SDK_KEYS)
        return cls(path) if path else None

    def add(self, keys: Iterable[str]) -> None:
        new = [k for k in keys if k not in self._seen]
        if not new:
            return
        self._seen.update(new)
        try:
            with open(self._path, "a", encoding="utf-8") as f:  # one write: lines of concurrent writers stay whole
                f.write("".join(k.replace("\n", " ") + "\n" for k in new))
        except OSError:
            pass


class KeyReader:
    """The runner's side: the keys noted so far, reading only what was appended since the last call."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._offset = 0
        self._partial = b""
        self.keys: set[str] = set()

    def refresh(self) -> set[str]:
        try:
            with open(self.path, "rb") as f:
                f.seek(self._offset)
                data = f.read()
        except OSError:
            return self.keys
        self._offset += len(data)
        *lines, self._partial = (self._partial + data).split(b"\n")
        self.keys.update(line.decode("utf-8", "replace") for line in lines if line)
        return self.keys
