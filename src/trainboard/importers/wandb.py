"""Offline (or synced) wandb run directories: the history (``wandb.log``) with steps and times, the config and
summary, project, tags and notes; media, tables and text values counted as skipped.

A run's ``run-<id>.wandb`` file is a LevelDB-style log (32 KiB blocks of checksummed, possibly fragmented
records after a 7-byte ``:W&B`` header) of wandb's protobuf ``Record`` messages. wandb dropped its Python reader
of these files (since 0.19 its Go core reads them), so the framing is undone here and every record is decoded
with wandb's own generated protobuf classes (``wandb.proto.wandb_internal_pb2``): wandb must be installed.
Run ids derive from the file's absolute path; history rows carry their index as sequence number, so importing
again adds nothing.
"""

from __future__ import annotations

import json
import math
import struct
import zlib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from trainboard.importers import ImportedRun, Series, stable_id

__all__ = ["WandbFileError", "read_path", "records"]

BLOCK = 32768
_HEADER = struct.Struct("<4sHB")  # ident, magic, version
_RECORD = struct.Struct("<IHB")  # crc32, length, type
_IDENT, _MAGIC = b":W&B", 0xBEE1
_FULL, _FIRST, _MIDDLE, _LAST = 1, 2, 3, 4


class WandbFileError(ValueError):
    """Not a .wandb file, or a damaged one."""


def records(path: Path) -> Iterator[bytes]:
    """The payloads of the records of a ``.wandb`` file, in order. A torn tail (the process was killed mid-write)
    ends the iteration; a bad header raises :class:`WandbFileError`."""
    data = path.read_bytes()
    if len(data) < _HEADER.size:
        raise WandbFileError(f"{path}: too short for a .wandb file")
    ident, magic, _version = _HEADER.unpack_from(data)
    if ident != _IDENT or magic != _MAGIC:
        raise WandbFileError(f"{path}: not a .wandb file (no :W&B header)")
    pos, pending = _HEADER.size, b""
    while pos + _RECORD.size <= len(data):
        left = BLOCK - pos % BLOCK
        if left < _RECORD.size:  # the block's zero padding
            pos += left
            continue
        crc, length, kind = _RECORD.unpack_from(data, pos)
        start = pos + _RECORD.size
        payload = data[start : start + length]
        if (kind == 0 and length == 0) or len(payload) < length:
            return
        if zlib.crc32(payload, zlib.crc32(bytes([kind]))) & 0xFFFFFFFF != crc:
            return
        pos = start + length
        if kind == _FULL:
            yield payload
        elif kind == _FIRST:
            pending = payload
        elif kind == _MIDDLE:
            pending += payload
        elif kind == _LAST:
            yield pending + payload
            pending = b""


def read_path(path: Path) -> Iterator[ImportedRun]:
    """The runs of a ``.wandb`` file, a run folder or any folder holding them (sorted by path)."""
    files = [path] if path.is_file() else sorted(path.rglob("*.wandb"))
    for file in files:
        yield read_file(file.resolve())


def read_file(path: Path) -> ImportedRun:
    """One ``.wandb`` file as a run: history rows (numbers), config, summary (into the config under
    ``summary``), project, tags, notes, group and job type (as the wandb shim maps them), the exit code; what is
    not imported (media, tables, histograms, text values, console output) is counted in ``skipped``."""
    from importlib import import_module

    pb: Any = import_module("wandb.proto.wandb_internal_pb2")  # (generated: no types to check against)

    config: dict[str, Any] = {"imported_from": "wandb", "path": str(path)}
    rows: list[tuple[int, float, dict[str, float]]] = []
    imported = ImportedRun(stable_id("wandb", str(path)), path.stem, config, [])
    wandb_config: dict[str, Any] = {}
    summary: dict[str, Any] = {}
    for payload in records(path):
        record = pb.Record()
        record.ParseFromString(payload)
        kind = record.WhichOneof("record_type")
        if kind == "run":
            _run_record(imported, record.run)
            _update(wandb_config, record.run.config.update)
        elif kind == "config":
            _update(wandb_config, record.config.update)
        elif kind == "history":
            row = _row(record.history.item, record.history.step.num if record.history.HasField("step") else None)
            imported.skipped.update(row.skipped)
            if row.metrics and row.step is not None and row.wall is not None:
                rows.append((row.step, row.wall, row.metrics))
        elif kind == "summary":
            _summary(summary, record.summary)
        elif kind == "exit":
            imported.exit_code = int(record.exit.exit_code)
            imported.status = "completed" if record.exit.exit_code == 0 else "failed"
        elif kind in ("output", "output_raw"):
            imported.skipped["console output records"] += 1
    config |= {k: v for k, v in wandb_config.items() if not k.startswith("_")}
    if summary:
        config["summary"] = summary
    imported.series = [Series(stable_id("wandbh", str(path)), rows)]
    return imported


def _run_record(imported: ImportedRun, run: Any) -> None:
    imported.name = run.display_name or run.run_id or imported.name
    imported.config["wandb_run_id"] = run.run_id
    if run.project:
        imported.project = run.project
        imported.config["wandb_project"] = run.project
    imported.tags = [*run.tags]
    if run.run_group:
        imported.config["wandb_group"] = run.run_group
        imported.tags.append(f"group:{run.run_group}")
    if run.job_type:
        imported.config["wandb_job_type"] = run.job_type
        imported.tags.append(f"job_type:{run.job_type}")
    imported.notes = run.notes or None


def _update(config: dict[str, Any], items: Any) -> None:
    for item in items:
        key = item.key or "/".join(item.nested_key)
        try:
            value = json.loads(item.value_json)
        except ValueError:
            continue
        if isinstance(value, dict) and set(value) == {"value"} | ({"desc"} & set(value)):
            value = value["value"]  # how wandb stores config values
        config[key] = value


#: wandb's ``_type`` of a logged media value -> what the importer says it skipped
_MEDIA = {
    "image-file": "images",
    "images/separated": "images",
    "histogram": "histograms",
    "table-file": "tables",
    "joined-table": "tables",
    "partitioned-table": "tables",
    "audio-file": "audio",
    "video-file": "videos",
    "html-file": "HTML",
    "plotly-file": "charts",
    "object3D-file": "3D objects",
    "molecule-file": "molecules",
}


class _Row:
    __slots__ = ("metrics", "skipped", "step", "wall")

    def __init__(self, step: int | None) -> None:
        self.step = step
        self.wall: float | None = None
        self.metrics: dict[str, float] = {}
        self.skipped: Counter[str] = Counter()


def _values(items: Any) -> Iterator[tuple[tuple[str, ...], Any]]:
    """``(path, value)`` of each item (``path``: the key split at nesting), media values whole: the items of a
    logged ``wandb.Image`` (``img/_type``, ``img/size``, ...) come back as one ``(("img",), {"_type": ...})``."""
    parsed: list[tuple[tuple[str, ...], Any]] = []
    for item in items:
        path = tuple(item.nested_key) if item.nested_key else (item.key,)
        try:
            parsed.append((path, json.loads(item.value_json)))
        except ValueError:
            continue
    media = {p[:-1]: v for p, v in parsed if len(p) > 1 and p[-1] == "_type" and isinstance(v, str)}
    seen: set[tuple[str, ...]] = set()
    for path, value in parsed:
        owner = next((path[:i] for i in range(1, len(path)) if path[:i] in media), None)
        if owner is None:
            yield path, value
        elif owner not in seen:
            seen.add(owner)
            yield owner, {"_type": media[owner]}


def _row(items: Any, step: int | None) -> _Row:
    row = _Row(step)
    for path, value in _values(items):
        key = "/".join(path)
        if key == "_step" and isinstance(value, int):
            row.step = value
        elif key == "_timestamp" and isinstance(value, int | float):
            row.wall = float(value)
        elif key.startswith("_"):
            continue
        elif isinstance(value, int | float) and not isinstance(value, bool):
            row.metrics[key] = float(value)
        elif isinstance(value, str) and value in ("NaN", "Infinity", "-Infinity"):
            row.metrics[key] = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}[value]
        else:
            row.skipped[_kind(value)] += 1
    return row


def _kind(value: Any) -> str:
    if isinstance(value, dict) and isinstance(value.get("_type"), str):
        return _MEDIA.get(value["_type"], f"{value['_type']} values")
    if isinstance(value, str):
        return "text values"
    if isinstance(value, bool):
        return "boolean values"
    if isinstance(value, list):
        return "list values"
    return "other values"


def _summary(summary: dict[str, Any], record: Any) -> None:
    """Apply a summary record: plain values kept (``a/b`` keys), media replaced by their type, ``_`` keys left
    out."""
    for path, value in _values(record.update):
        key = "/".join(path)
        if key.startswith("_"):
            continue
        if isinstance(value, dict) and isinstance(value.get("_type"), str):
            value = f"<{value['_type']}>"
        summary[key] = value
    for item in record.remove:
        summary.pop(item.key or "/".join(item.nested_key), None)
