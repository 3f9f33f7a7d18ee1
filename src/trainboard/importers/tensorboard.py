"""TensorBoard log directories: one run per folder holding event files, every scalar with its step and wall time.

Read with TensorBoard's own event reader (``pip install 'trainboard[tensorboard]'``). The run id is derived from
the folder's absolute path, each event file is a stream of its own with the points' order in it as their sequence
numbers: importing a directory again is a no-op (files that grew add only their new points).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from trainboard.importers import ImportedRun, Series, stable_id
from trainboard.sdk.tb_follow import event_files, open_loader, scalar_events, tag_key

__all__ = ["read_logdir"]


def read_logdir(logdir: Path) -> Iterator[ImportedRun]:
    """The runs under ``logdir``, one per folder with event files (sorted by path)."""
    root = logdir.resolve()
    by_dir: dict[Path, list[Path]] = {}
    for path in event_files(root):
        by_dir.setdefault(path.parent, []).append(path)
    for folder in sorted(by_dir):
        rel = folder.relative_to(root).as_posix()
        name = root.name if rel == "." else f"{root.name}/{rel}"
        series = []
        for path in sorted(by_dir[folder]):
            points = [
                (step, wall, {tag_key(tag, folder): value})
                for tag, step, wall, value in scalar_events(open_loader(path))
            ]
            series.append(Series(stable_id("tb", str(path)), points))
        config = {"imported_from": "tensorboard", "logdir": str(folder)}
        yield ImportedRun(stable_id("tb", str(folder)), name, config, series)
