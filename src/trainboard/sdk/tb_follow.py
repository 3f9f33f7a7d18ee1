"""TensorBoard event files: their scalars, and following the files a recorded command writes.

Read with TensorBoard's own event reader (``tensorboard`` package, imported lazily; without it following is
off with one note). A scalar's tag is its key, except under ``add_scalars``' layout (a folder named
``<tag>_<name>`` holding the events of tag ``<tag>``), where it is ``<tag>/<name>``. Steps and wall times are
the file's own.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

__all__ = [
    "EVENTS_GLOB",
    "FOUND",
    "SCANNED",
    "TensorBoardFollower",
    "available",
    "event_files",
    "scalar_events",
    "tag_key",
]

EVENTS_GLOB = "events.out.tfevents.*"
_SKIP_DIRS = frozenset({".git", ".venv", "venv", "node_modules", "__pycache__", ".trainboard"})
MAX_DEPTH = 8
#: the steps of :class:`TensorBoardFollower`'s calls without metrics: an event file found, a look finished
FOUND = 0
SCANNED = -1


def available() -> bool:
    from importlib.util import find_spec

    return find_spec("tensorboard") is not None


def tag_key(tag: str, directory: Path) -> str:
    """The metric key of ``tag`` in an event file of ``directory`` (see the module docstring)."""
    prefix = tag.replace("/", "_") + "_"
    if directory.name.startswith(prefix) and len(directory.name) > len(prefix):
        return f"{tag}/{directory.name[len(prefix) :]}"
    return tag


def event_files(root: Path, *, newer_than: float = 0.0) -> list[Path]:
    """Event files under ``root`` (hidden folders, virtual environments and deep trees left out), sorted."""
    found: list[Path] = []
    root_depth = len(root.parts)
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        if len(here.parts) - root_depth >= MAX_DEPTH:
            dirs.clear()
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS and not d.startswith("."))
        for name in files:
            if name.startswith("events.out.tfevents."):
                path = here / name
                try:
                    if path.stat().st_mtime >= newer_than:
                        found.append(path)
                except OSError:
                    continue
    return sorted(found)


def scalar_events(loader: Any) -> Iterator[tuple[str, int, float, float]]:
    """``(tag, step, wall_time, value)`` for each scalar in the events ``loader.Load()`` yields (new ones only
    on each call: the loader keeps its place in the file)."""
    from tensorboard.util import tensor_util

    for event in loader.Load():
        if event.WhichOneof("what") != "summary":
            continue
        for value in event.summary.value:
            kind = value.WhichOneof("value")
            if kind == "simple_value":
                number = float(value.simple_value)
            elif kind == "tensor" and value.metadata.plugin_data.plugin_name == "scalars":
                array = tensor_util.make_ndarray(value.tensor)
                if array.size != 1:
                    continue
                number = float(array.reshape(()))
            else:
                continue
            yield value.tag, int(event.step), float(event.wall_time), number


def open_loader(path: Path) -> Any:
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

    return EventFileLoader(str(path))


class TensorBoardFollower:
    """Polls ``root`` for event files written since ``since`` and hands their new scalars to ``emit``
    as ``(step, wall_time, {key: value})``; :meth:`close` reads what is left one last time. Two more calls, with
    no metrics, tell the receiver what the files may still hold (``parsed_metrics``: a printed key the files also
    have must come from the files): ``emit(FOUND, 0.0, {})`` when a new event file is found, before it holds any
    scalar (a writer flushes its scalars every couple of minutes by default), and ``emit(SCANNED, t, {})`` after
    each look, begun at wall time ``t``: every event file that existed at ``t`` has been found."""

    def __init__(
        self, root: Path, emit: Callable[[int, float, dict[str, float]], None], *, since: float, interval: float = 1.0
    ) -> None:
        self._root = root
        self._emit = emit
        self._since = since
        self._interval = interval
        self._loaders: dict[Path, Any] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="trainboard-tensorboard", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        self.poll()
        while not self._stop.wait(self._interval):
            self.poll()

    def poll(self) -> None:
        started = time.time()
        try:
            for path in event_files(self._root, newer_than=self._since):
                if path not in self._loaders:
                    self._loaders[path] = open_loader(path)
                    self._emit(FOUND, 0.0, {})
            for path, loader in self._loaders.items():
                for tag, step, wall, value in scalar_events(loader):
                    self._emit(step, wall, {tag_key(tag, path.parent): value})
        except Exception:  # (a torn or odd file must never break the recorded command)
            pass
        self._emit(SCANNED, started, {})

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.poll()
