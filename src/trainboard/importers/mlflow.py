"""MLflow runs as trainboard runs: from an ``mlruns`` directory (MLflow's file store, read directly: mlflow need
not be installed) or, through ``mlflow_rest``, from a tracking server's REST API.

Both sources give :class:`MlflowRun` values, mapped the same way by :func:`to_imported`: experiment name ->
project, run name -> name, params -> config, every metric point with its step and timestamp, user tags ->
trainboard tags (``key:value``; exact in the config under ``mlflow.tags``), ``mlflow.note.content`` -> notes,
the other ``mlflow.*`` tags into the config under ``mlflow.system_tags``, status, start and end times.

The run id derives from MLflow's run id (a UUID), not from where it was read: importing a run again, from the
same store or through a server that serves it, adds nothing. Each metric key is a stream of its own, its points
in timestamp order (a run that grew since the last import adds only its new points). What is not imported is
counted per run: artifacts (files), logged models, dataset inputs, and values logged again at a step that
already had one (trainboard keeps one value per step: the last, as MLflow's own "latest" does).
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from trainboard.importers import ImportedRun, Series, stable_id
from trainboard.wire.checks import check_key, check_step

__all__ = ["STATUS", "LeftOut", "MlflowRun", "model_history", "param_value", "read_store", "to_imported"]

#: MLflow run status -> trainboard status
STATUS = {
    "RUNNING": "running",
    "SCHEDULED": "queued",
    "FINISHED": "completed",
    "FAILED": "failed",
    "KILLED": "interrupted",
}
#: the file store's ``status`` numbers (mlflow.entities.RunStatus)
_STATUS_NUMBERS = {1: "RUNNING", 2: "SCHEDULED", 3: "FINISHED", 4: "FAILED", 5: "KILLED"}
NOTE_TAG = "mlflow.note.content"
#: What a repeated step costs, in the words ``trainboard import`` prints.
REPEATED = "values at a repeated step (the last kept)"
#: config keys the importer sets (a param of the same name goes to ``mlflow.params``)
_OWN_KEYS = ("imported_from", "mlflow", "import_skipped")


@dataclass(slots=True)
class MlflowRun:
    """One MLflow run as either source gives it. Times in epoch milliseconds, as MLflow keeps them; each metric's
    points ``(step, timestamp_ms, value)`` in the source's order."""

    run_id: str
    experiment_id: str
    experiment: str
    name: str
    status: str
    start_ms: int | None
    end_ms: int | None
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, list[tuple[int, int, float]]] = field(default_factory=dict)
    skipped: Counter[str] = field(default_factory=Counter)


@dataclass(slots=True)
class LeftOut:
    """What a source holds outside any imported run (deleted runs and experiments), for the closing line."""

    counts: Counter[str] = field(default_factory=Counter)


def to_imported(run: MlflowRun, *, source: str) -> ImportedRun:
    """``run`` as trainboard imports it; ``source`` (the store's path or the server's URL) goes into the config."""
    meta: dict[str, Any] = {
        "run_id": run.run_id,
        "experiment_id": run.experiment_id,
        "experiment": run.experiment,
        "status": run.status,
        "start_time": run.start_ms,
        "end_time": run.end_ms,
        "source": source,
    }
    config: dict[str, Any] = {}
    for key, value in run.params.items():
        if key in _OWN_KEYS:
            meta.setdefault("params", {})[key] = value
        else:
            config[key] = param_value(value)
    user_tags = {k: v for k, v in run.tags.items() if not k.startswith("mlflow.")}
    system_tags = {k: v for k, v in run.tags.items() if k.startswith("mlflow.") and k != NOTE_TAG}
    if user_tags:
        meta["tags"] = user_tags
    if system_tags:
        meta["system_tags"] = system_tags
    config |= {"imported_from": "mlflow", "mlflow": meta}
    skipped = Counter(run.skipped)
    series = []
    for key, points in sorted(run.metrics.items()):
        usable, unusable = _usable(points)
        if check_key(key) is not None:
            skipped["points under keys trainboard refuses"] += len(points)
            continue
        skipped["points at steps trainboard refuses"] += unusable
        ordered = sorted(usable, key=lambda p: p[1])  # timestamp order (stable: the source's order within a tie)
        skipped[REPEATED] += len(ordered) - len({p[0] for p in ordered})
        rows = [(step, ts / 1000, {key: value}) for step, ts, value in ordered]
        series.append(Series(stable_id("mlflowm", run.run_id, key), rows))
    return ImportedRun(
        stable_id("mlflow", run.run_id),
        run.name or run.run_id,
        config,
        series,
        project=run.experiment,
        tags=[f"{k}:{v}" if v else k for k, v in user_tags.items()],
        notes=run.tags.get(NOTE_TAG) or None,
        status=STATUS.get(run.status, "completed"),
        skipped=Counter({k: n for k, n in skipped.items() if n}),
        started=run.start_ms / 1000 if run.start_ms is not None else None,
    )


def param_value(text: str) -> Any:
    """A param (MLflow keeps them as text) as a number when it reads back as exactly the same text (``"0.001"``,
    ``"32"``), else the text: a filter or sort on ``config.lr`` compares numbers, and nothing is lost."""
    try:
        number = int(text)
        if str(number) == text:
            return number
    except ValueError:
        pass
    try:
        real = float(text)
    except ValueError:
        return text
    return real if math.isfinite(real) and repr(real) == text else text


def _usable(points: list[tuple[int, int, float]]) -> tuple[list[tuple[int, int, float]], int]:
    good = [p for p in points if check_step(p[0]) is None]
    return good, len(points) - len(good)


# --- the file store (mlruns/<experiment id>/<run id>/{meta.yaml,params,metrics,tags,artifacts,inputs,outputs}) ---


def read_store(root: Path, left_out: LeftOut | None = None) -> Iterator[MlflowRun]:
    """The active runs of the file store at ``root`` (its experiments sorted by id, their runs by start time).
    Deleted runs and experiments (MLflow's ``.trash`` and ``lifecycle_stage: deleted``) are counted in
    ``left_out``, not imported."""
    left_out = left_out if left_out is not None else LeftOut()
    trash = root / ".trash"
    if trash.is_dir():
        left_out.counts["deleted experiments"] += sum(1 for p in trash.iterdir() if (p / "meta.yaml").is_file())
    for folder in sorted(p for p in root.iterdir() if (p / "meta.yaml").is_file() and p.name != ".trash"):
        experiment = _yaml(folder / "meta.yaml")
        if experiment.get("lifecycle_stage") == "deleted":
            left_out.counts["deleted experiments"] += 1
            continue
        models = _models_by_run(folder / "models")
        runs = []
        for run_dir in folder.iterdir():
            if not (run_dir / "meta.yaml").is_file() or run_dir.name in ("models", "datasets", "traces", "tags"):
                continue
            meta = _yaml(run_dir / "meta.yaml")
            if meta.get("lifecycle_stage") == "deleted":
                left_out.counts["deleted runs"] += 1
                continue
            runs.append(_read_run(run_dir, meta, str(experiment.get("name", folder.name)), models))
        yield from sorted(runs, key=lambda r: (r.start_ms or 0, r.run_id))


def _read_run(run_dir: Path, meta: dict[str, Any], experiment: str, models: dict[str, set[str]]) -> MlflowRun:
    run_id = str(meta.get("run_id") or run_dir.name)
    tags = _files(run_dir / "tags")
    status = meta.get("status")
    run = MlflowRun(
        run_id=run_id,
        experiment_id=str(meta.get("experiment_id", run_dir.parent.name)),
        experiment=experiment,
        name=str(meta.get("run_name") or tags.get("mlflow.runName") or run_id),
        status=_STATUS_NUMBERS.get(status, str(status)) if isinstance(status, int) else str(status),
        start_ms=_int(meta.get("start_time")),
        end_ms=_int(meta.get("end_time")),
        params=_files(run_dir / "params"),
        tags=tags,
    )
    metrics_dir = run_dir / "metrics"
    if metrics_dir.is_dir():
        for path in sorted(p for p in metrics_dir.rglob("*") if p.is_file()):
            run.metrics[path.relative_to(metrics_dir).as_posix()] = _metric_lines(path)
    artifacts = _local(meta.get("artifact_uri"))
    if artifacts is None:  # in a remote store (s3://, gs://, mlflow-artifacts:/ ...): not listed
        run.skipped[f"artifact folders not listed ({meta.get('artifact_uri')})"] += 1
    else:
        run.skipped["artifacts"] += _count_files(artifacts if artifacts.is_dir() else run_dir / "artifacts")
    outputs = run_dir / "outputs"
    run_models = models.get(run_id, set()) | ({p.name for p in outputs.iterdir()} if outputs.is_dir() else set())
    run.skipped["logged models"] += len(run_models) or model_history(tags)
    inputs = run_dir / "inputs"
    if inputs.is_dir():
        kinds = [_yaml(p / "meta.yaml").get("source_type") for p in inputs.iterdir() if (p / "meta.yaml").is_file()]
        run.skipped["dataset inputs"] += sum(1 for k in kinds if k == "DATASET")
    return run


def _metric_lines(path: Path) -> list[tuple[int, int, float]]:
    """``timestamp value [step [dataset digest]]`` per line, as the file store appends them (no step: step 0)."""
    points = []
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) < 2:
            continue
        step = int(parts[2]) if len(parts) >= 3 else 0
        points.append((step, int(parts[0]), float(parts[1])))
    return points


def _models_by_run(models_dir: Path) -> dict[str, set[str]]:
    """MLflow 3's logged models of an experiment, by the run that logged them."""
    by_run: dict[str, set[str]] = {}
    if models_dir.is_dir():
        for folder in models_dir.iterdir():
            meta = _yaml(folder / "meta.yaml") if (folder / "meta.yaml").is_file() else {}
            if meta.get("source_run_id"):
                by_run.setdefault(str(meta["source_run_id"]), set()).add(str(meta.get("model_id", folder.name)))
    return by_run


def model_history(tags: dict[str, str]) -> int:
    """Models MLflow 2 logged (its ``mlflow.log-model.history`` tag: a JSON list)."""
    try:
        history = json.loads(tags.get("mlflow.log-model.history", "[]"))
    except ValueError:
        return 0
    return len(history) if isinstance(history, list) else 0


def _files(folder: Path) -> dict[str, str]:
    """Params or tags: one file per key (keys with ``/`` in folders), the value its whole text."""
    if not folder.is_dir():
        return {}
    return {
        p.relative_to(folder).as_posix(): p.read_text(encoding="utf-8")
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _local(uri: object) -> Path | None:
    if not isinstance(uri, str):
        return None
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        return Path(unquote(parsed.path))
    return Path(uri) if parsed.scheme == "" else None


def _count_files(folder: Path) -> int:
    return sum(1 for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else 0


def _int(value: object) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _yaml(path: Path) -> dict[str, Any]:
    """An MLflow ``meta.yaml`` (PyYAML comes with trainboard's server extra, through uvicorn[standard])."""
    from importlib import import_module

    yaml: Any = import_module("yaml")
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else {}
