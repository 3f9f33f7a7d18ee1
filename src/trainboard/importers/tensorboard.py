"""TensorBoard log directories: one run per folder holding event files, every scalar with its step and wall time,
and histograms, images and text as trainboard's rich values.

Read with TensorBoard's own event reader (``pip install 'trainboard[tensorboard]'``). The run id is derived from
the folder's absolute path, each event file is a stream of its own with the points' order in it as their sequence
numbers: importing a directory again is a no-op (files that grew add only their new points; a rich value is
stored once per (key, step)). Histograms (old-style ``histo`` values as ``torch.utils.tensorboard`` writes them,
and the ``histograms`` plugin's tensors) are re-binned into 64 equal bins between their min and max — TensorBoard's
exponential buckets number in the hundreds — and each value says so in its ``truncated`` field; images (PNG/JPEG,
the first of a summary) and text come as they are. Other summaries (audio, other plugins' data, graphs, images over
trainboard's caps) are not imported: they are counted by kind in the run's ``skipped`` so ``trainboard import``
can say so.
"""

from __future__ import annotations

import base64
import math
import struct
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from trainboard.importers import ImportedRun, Series, stable_id
from trainboard.sdk.tb_follow import event_files, tag_key
from trainboard.wire.rich import MAX_IMAGE_BYTES, MAX_IMAGE_SIDE, MAX_TEXT_CHARS, image_format, image_size

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
        series, skipped, rich = [], Counter[str](), list[dict[str, Any]]()
        for path in sorted(by_dir[folder]):
            points = [
                (step, wall, {tag_key(tag, folder): value})
                for tag, step, wall, value in _scalars(_open(path), skipped, rich)
            ]
            series.append(Series(stable_id("tb", str(path)), points))
        for value in rich:
            value["key"] = tag_key(value["key"], folder)
        config = {"imported_from": "tensorboard", "logdir": str(folder)}
        yield ImportedRun(stable_id("tb", str(folder)), name, config, series, skipped=skipped, rich=rich)


def _open(path: Path) -> Any:
    """TensorBoard's reader of the file's events as written (its default loader rewrites old-style values into
    tensors and drops their ``node_name``, where an export keeps the exact value)."""
    from tensorboard.backend.event_processing.event_file_loader import LegacyEventFileLoader

    return LegacyEventFileLoader(str(path))


def _scalars(loader: Any, skipped: Counter[str], rich: list[dict[str, Any]]) -> Iterator[tuple[str, int, float, float]]:
    """``(tag, step, wall_time, value)`` of each scalar of the file; histograms, images and text appended to
    ``rich`` as rich values (keyed by tag); every other summary value counted by kind in ``skipped``. A tag's
    plugin is taken from the first value that names one (writers leave it off later)."""
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
            found = _rich(value, kind, plugin, tensor_util) if event.step >= 0 else None
            if found is not None:
                tag = value.tag.removesuffix("/text_summary") if found["kind"] == "text" else value.tag  # add_text's
                rich.append({"key": tag, "step": int(event.step), "time": float(event.wall_time), **found})
                continue
            skipped[_KINDS.get(name, f"{name or 'unnamed'} summaries")] += 1


def _rich(value: Any, kind: str | None, plugin: str, tensor_util: Any) -> dict[str, Any] | None:
    """The rich value (kind and body) of a histogram, image or text summary value; None for anything else or an
    image trainboard cannot keep (not PNG/JPEG, over its caps)."""
    if kind == "histo":
        h = value.histo
        limits, counts = list(h.bucket_limit), list(h.bucket)
        lefts = [h.min, *limits[:-1]]
        return _histogram(lefts, limits, counts, float(h.min), float(h.max), f"{len(counts)} TensorBoard buckets")
    if kind == "tensor" and plugin == "histograms":
        array = tensor_util.make_ndarray(value.tensor)
        if array.ndim != 2 or array.shape[1] != 3 or array.shape[0] == 0:
            return None
        lefts, rights, counts = (array[:, i].astype(float).tolist() for i in range(3))
        return _histogram(lefts, rights, counts, min(lefts), max(rights), f"{len(counts)} TensorBoard bins")
    if kind == "image":
        return _image(bytes(value.image.encoded_image_string))
    if kind == "tensor" and plugin == "images":
        strings = list(value.tensor.string_val)
        return _image(bytes(strings[2])) if len(strings) >= 3 else None
    if kind == "tensor" and plugin == "text":
        parts = [s.decode("utf-8", "replace") for s in value.tensor.string_val]
        text = "\n".join(parts).replace("\x00", "\ufffd")
        body: dict[str, Any] = {"kind": "text", "text": {"text": text[:MAX_TEXT_CHARS]}}
        if len(text) > MAX_TEXT_CHARS:
            body["truncated"] = f"cut to the first {MAX_TEXT_CHARS:,} of {len(text):,} characters"
        return body
    return None


def _image(data: bytes) -> dict[str, Any] | None:
    fmt, size = image_format(data), image_size(data)
    if fmt is None or size is None or len(data) > MAX_IMAGE_BYTES or max(size) > MAX_IMAGE_SIDE:
        return None
    return {"kind": "image", "image": {"format": fmt, "data": base64.b64encode(data).decode("ascii")}}


#: Bins of an imported histogram.
BINS = 64


def _histogram(
    lefts: list[float], rights: list[float], counts: list[float], lo: float, hi: float, source: str
) -> dict[str, Any] | None:
    """Buckets ``(left, right, count)`` re-binned into ``BINS`` equal bins over [lo, hi], each bucket's count spread
    over the bins it overlaps (clipped to [lo, hi]: TensorBoard's outer buckets reach far past the data)."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or not counts:
        return None
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    width = (hi - lo) / BINS
    out = [0.0] * BINS
    for a, b, c in zip(lefts, rights, counts, strict=True):
        if not c or not math.isfinite(c) or c < 0:
            continue
        a, b = min(max(a, lo), hi), min(max(b, lo), hi)
        if b <= a:
            out[min(BINS - 1, int((a - lo) / width))] += c
            continue
        first, last = int((a - lo) / width), min(BINS - 1, int((b - lo) / width))
        for i in range(first, last + 1):
            overlap = min(b, lo + (i + 1) * width) - max(a, lo + i * width)
            if overlap > 0:
                out[i] += c * overlap / (b - a)
    edges = [lo + i * width for i in range(BINS)] + [hi]
    return {
        "kind": "histogram",
        "histogram": {"bin_edges": edges, "counts": out, "nonfinite": 0},
        "truncated": f"re-binned from {source} into {BINS} equal bins",
    }
