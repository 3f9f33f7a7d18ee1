"""TensorBoard log directories: one run per folder holding event files, every scalar with its step and wall time.

Read with TensorBoard's own event reader (``pip install 'trainboard[tensorboard]'``). The run id is derived from
the folder's absolute path, each event file is a stream of its own with the points' order in it as their sequence
numbers: importing a directory again is a no-op (files that grew add only their new points). Summaries that are
not scalars (histograms, images, audio, text, other plugins' data, graphs) are not imported: they are counted by
kind in the run's ``skipped`` so ``trainboard import`` can say so.
"""

from __future__ import annotations

import struct
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from trainboard.importers import ImportedRun, Series, stable_id
from trainboard.sdk.tb_follow import event_files, tag_key

__all__ = ["EXACT_PREFIX", "exact_value", "read_logdir"]

#: Marks a point's exact float64 in the ``node_name`` of a scalar ``trainboard export --format tensorboard``
#: wrote (TensorBoard keeps scalars as float32 and ignores ``node_name``).
EXACT_PREFIX = "trainboard:f64:"

#: plugin name (or old-style value field) -> what the importer says it skipped
_KINDS = {"histograms": "histograms", "histo": "histograms", "images": "images", "image": "images"}
_KINDS |= {"audio": "audio", "text": "text", "pr_curves": "PR curves", "hparams": "hparams", "mesh": "meshes"}


def exact_value(node_name: str) -> float | None:
    """The float64 an export kept in a scalar's ``node_name``, if it holds one."""
    if not node_name.startswith(EXACT_PREFIX):
        return None
    try:
        (value,) = struct.unpack("<d", bytes.fromhex(node_name[len(EXACT_PREFIX) :]))
    except ValueError:  # (struct.error is a ValueError too)
        return None
    return float(value)


def read_logdir(logdir: Path) -> Iterator[ImportedRun]:
    """The runs under ``logdir``, one per folder with event files (sorted by path)."""
    root = logdir.resolve()
    by_dir: dict[Path, list[Path]] = {}
    for path in event_files(root):
        by_dir.setdefault(path.parent, []).append(path)
    for folder in sorted(by_dir):
        rel = folder.relative_to(root).as_posix()
        name = root.name if rel == "." else f"{root.name}/{rel}"
        series, skipped = [], Counter[str]()
        for path in sorted(by_dir[folder]):
            points = [
                (step, wall, {tag_key(tag, folder): value}) for tag, step, wall, value in _scalars(_open(path), skipped)
            ]
            series.append(Series(stable_id("tb", str(path)), points))
        config = {"imported_from": "tensorboard", "logdir": str(folder)}
        yield ImportedRun(stable_id("tb", str(folder)), name, config, series, skipped=skipped)


def _open(path: Path) -> Any:
    """TensorBoard's reader of the file's events as written (its default loader rewrites old-style values into
    tensors and drops their ``node_name``, where an export keeps the exact value)."""
    from tensorboard.backend.event_processing.event_file_loader import LegacyEventFileLoader

    return LegacyEventFileLoader(str(path))


def _scalars(loader: Any, skipped: Counter[str]) -> Iterator[tuple[str, int, float, float]]:
    """``(tag, step, wall_time, value)`` of each scalar of the file; every other summary value counted by kind in
    ``skipped``. A tag's plugin is taken from the first value that names one (writers leave it off later)."""
    from tensorboard.util import tensor_util

    plugin_of: dict[str, str] = {}
    for event in loader.Load():
        what = event.WhichOneof("what")
        if what in ("graph_def", "meta_graph_def"):
            skipped["graphs"] += 1
        if what != "summary":
            continue
        for value in event.summary.value:
            if value.metadata.plugin_data.plugin_name and value.tag not in plugin_of:
                plugin_of[value.tag] = value.metadata.plugin_data.plugin_name
            kind = value.WhichOneof("value")
            plugin = plugin_of.get(value.tag, "")
            if kind == "simple_value":
                exact = exact_value(value.node_name)
                yield (
                    value.tag,
                    int(event.step),
                    float(event.wall_time),
                    (exact if exact is not None else float(value.simple_value)),
                )
                continue
            if kind == "tensor" and plugin == "scalars":
                array = tensor_util.make_ndarray(value.tensor)
                if array.size == 1:
                    yield value.tag, int(event.step), float(event.wall_time), float(array.reshape(()))
                    continue
            name = plugin if kind == "tensor" else str(kind)
            skipped[_KINDS.get(name, f"{name or 'unnamed'} summaries")] += 1
