"""Offline (or synced) wandb run directories: the history (``wandb.log``) with steps and times, and the config.

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
    from importlib import import_module

    pb: Any = import_module("wandb.proto.wandb_internal_pb2")  # (generated: no types to check against)

    name, config, rows = path.stem, {"imported_from": "wandb", "path": str(path)}, []
    wandb_config: dict[str, Any] = {}
    for payload in records(path):
        record = pb.Record()
        record.ParseFromString(payload)
        kind = record.WhichOneof("record_type")
        if kind == "run":
            name = record.run.display_name or record.run.run_id or name
            config["wandb_run_id"] = record.run.run_id
            if record.run.project:
                config["wandb_project"] = record.run.project
            _update(wandb_config, record.run.config.update)
        elif kind == "config":
            _update(wandb_config, record.config.update)
        elif kind == "history":
            row = _row(record.history)
            if row is not None:
                rows.append(row)
    config |= {k: v for k, v in wandb_config.items() if not k.startswith("_")}
    return ImportedRun(stable_id("wandb", str(path)), name, config, [Series(stable_id("wandbh", str(path)), rows)])


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


def _row(history: Any) -> tuple[int, float, dict[str, float]] | None:
    step: int | None = history.step.num if history.HasField("step") else None
    wall: float | None = None
    metrics: dict[str, float] = {}
    for item in history.item:
        key = item.key or "/".join(item.nested_key)
        try:
            value = json.loads(item.value_json)
        except ValueError:
            continue
        if key == "_step" and isinstance(value, int):
            step = value
        elif key == "_timestamp" and isinstance(value, int | float):
            wall = float(value)
        elif not key.startswith("_") and isinstance(value, int | float) and not isinstance(value, bool):
            metrics[key] = float(value)
        elif isinstance(value, str) and value in ("NaN", "Infinity", "-Infinity"):
            metrics[key] = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}[value]
    if step is None or wall is None or not metrics:
        return None
    return step, wall, metrics
