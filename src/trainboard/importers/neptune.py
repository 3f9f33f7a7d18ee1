"""The Parquet files neptune-exporter writes (Neptune's hosted service shut down in 2026) as trainboard runs.

neptune-exporter (github.com/neptune-ai/neptune-exporter) writes each run to
``<data path>/<project>/<run>_part_<N>.parquet`` (part 0 renamed into place last: a run without it was not
finished), one row per value in one schema (its ``model.py::SCHEMA``): ``project_id``, ``run_id``,
``attribute_path``, ``attribute_type`` (float, int, string, bool, datetime, string_set, float_series,
string_series, histogram_series, file, file_series), ``step`` (decimal(18, 6)), ``timestamp`` (ms, UTC) and one
typed value column per kind.

Mapped: project id -> project, run id -> name, ``float_series`` -> metrics (every point, its step and time),
the single values -> config (``sys/*`` under ``neptune.sys``), ``sys/tags`` and ``sys/group_tags`` -> tags,
``sys/description`` -> notes, ``sys/failed`` -> failed, ``sys/creation_time`` -> start time. Steps are decimals
in Neptune and integers in trainboard: a step is multiplied by ``step_multiplier`` (as the exporter's own loaders
do; keep it the same across imports) and a point whose step is still fractional is counted, not imported.
Counted, not imported: text series, histograms, files, file series. The run id derives from Neptune's project
and run ids; points carry their index in step order as sequence numbers: importing again adds nothing.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from trainboard.importers import ImportedRun, Series, stable_id
from trainboard.wire.checks import check_key, check_step

__all__ = ["FRACTIONAL", "read_exports"]

FRACTIONAL = "points at fractional steps (see --step-multiplier)"
#: series and file kinds not imported -> what ``trainboard import`` says it skipped
_SKIPPED = {
    "string_series": "text series values",
    "histogram_series": "histograms",
    "file": "files",
    "file_series": "file series files",
}
_VALUE_COLUMN = {
    "float": "float_value",
    "int": "int_value",
    "string": "string_value",
    "bool": "bool_value",
    "datetime": "datetime_value",
    "string_set": "string_set_value",
}
_PART = re.compile(r"^(?P<run>.+)_part_(?P<n>\d+)\.parquet$")


def read_exports(path: Path, *, left_out: Counter[str], step_multiplier: int = 1) -> Iterator[ImportedRun]:
    """The runs in the exporter's Parquet files at ``path`` (a file, or a folder searched recursively), each
    run's parts read together (sorted by path). A run whose ``part_0`` is missing (its export did not finish:
    the exporter renames part 0 into place last) is counted in ``left_out``, not imported."""
    files = [path] if path.is_file() else sorted(path.rglob("*.parquet"))
    by_run: dict[tuple[Path, str], list[Path]] = {}
    for file in files:
        match = _PART.match(file.name)
        by_run.setdefault((file.parent, match["run"] if match else file.name), []).append(file)
    for parts in by_run.values():
        if path.is_dir() and all(_PART.match(p.name) for p in parts) and 0 not in map(_part_number, parts):
            left_out["runs whose export did not finish (no part_0)"] += 1
            continue
        rows = _rows(sorted(parts, key=_part_number))
        for (project_id, run_id), run_rows in rows.items():
            yield _run(project_id, run_id, run_rows, step_multiplier)


def _part_number(path: Path) -> int:
    match = _PART.match(path.name)
    return int(match["n"]) if match else 0


def _rows(parts: list[Path]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    import pyarrow.parquet as pq

    grouped: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for part in parts:
        for row in pq.read_table(part).to_pylist():
            grouped.setdefault((str(row["project_id"]), str(row["run_id"])), []).append(row)
    return grouped


def _run(project_id: str, run_id: str, rows: list[dict[str, Any]], multiplier: int) -> ImportedRun:
    config: dict[str, Any] = {}
    system: dict[str, Any] = {}
    series: dict[str, list[tuple[Decimal, datetime | None, float]]] = {}
    skipped: Counter[str] = Counter()
    for row in rows:
        kind, path = row["attribute_type"], row["attribute_path"]
        if kind == "float_series":
            series.setdefault(path, []).append((row["step"], row["timestamp"], row["float_value"]))
        elif kind in _VALUE_COLUMN:
            (system if path.startswith("sys/") else config)[path] = _config_value(row[_VALUE_COLUMN[kind]])
        else:
            skipped[_SKIPPED.get(kind, f"{kind} values")] += 1
    imported = ImportedRun(
        stable_id("neptune", project_id, run_id),
        run_id,
        config,
        [],
        project=project_id,
        tags=sorted({*system.get("sys/tags", []), *system.get("sys/group_tags", [])}),
        notes=system.get("sys/description") or None,
        status="failed" if system.get("sys/failed") is True else "completed",
        skipped=skipped,
    )
    config |= {"imported_from": "neptune", "neptune": {"project_id": project_id, "run_id": run_id, "sys": system}}
    created = next((r["datetime_value"] for r in rows if r["attribute_path"] == "sys/creation_time"), None)
    imported.started = created.timestamp() if isinstance(created, datetime) else None
    for key, points in sorted(series.items()):
        imported.series.append(_series(project_id, run_id, key, points, multiplier, skipped))
    return imported


def _series(
    project_id: str,
    run_id: str,
    key: str,
    points: list[tuple[Decimal, datetime | None, float]],
    multiplier: int,
    skipped: Counter[str],
) -> Series:
    stream = Series(stable_id("neptunes", project_id, run_id, key))
    if check_key(key) is not None:
        skipped["points under keys trainboard refuses"] += len(points)
        return stream
    for step, when, value in sorted(points, key=lambda p: (p[0], p[1] is None, p[1])):
        scaled = step * multiplier if step is not None else None
        if scaled is None or scaled != scaled.to_integral_value() or check_step(int(scaled)) is not None:
            skipped[FRACTIONAL if scaled is not None and scaled >= 0 else "points at steps trainboard refuses"] += 1
        elif when is None or value is None:
            skipped["points without a timestamp or value"] += 1
        else:
            stream.points.append((int(scaled), when.timestamp(), {key: value}))
    return stream


def _config_value(value: Any) -> Any:
    """A Neptune single value as JSON: datetimes in ISO 8601, string sets as sorted lists."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list):
        return sorted(value)
    return value
