"""MLflow runs read from a running tracking server's REST API (``/api/2.0/mlflow/...``), every list paged through
to its end: experiments (``experiments/search``), their runs (``runs/search``), each metric's full history
(``metrics/get-history``), the logged models (``logged-models/search``, MLflow 3) and artifact listings
(``artifacts/list``) to count what is not imported. Mapped as the file store is (``importers.mlflow``).

Credentials as MLflow's own client takes them: ``MLFLOW_TRACKING_TOKEN`` (bearer) or ``MLFLOW_TRACKING_USERNAME``
and ``MLFLOW_TRACKING_PASSWORD`` (basic).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from typing import Any

import httpx

from trainboard.importers.mlflow import LeftOut, MlflowRun, model_history

__all__ = ["MlflowServerError", "client_for", "read_server"]

API = "/api/2.0/mlflow"
#: list sizes asked for (servers cap them lower where they must; the next_page_token carries on)
PAGE = 1000
HISTORY_PAGE = 25_000
_FLOATS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


class MlflowServerError(RuntimeError):
    """The tracking server refused a request (the message names it)."""


def client_for(url: str, *, timeout: float = 60.0) -> httpx.Client:
    """An HTTP client for the server at ``url``, with the credentials of MLflow's environment variables."""
    headers, auth = {}, None
    if token := os.environ.get("MLFLOW_TRACKING_TOKEN"):
        headers["Authorization"] = f"Bearer {token}"
    elif user := os.environ.get("MLFLOW_TRACKING_USERNAME"):
        auth = httpx.BasicAuth(user, os.environ.get("MLFLOW_TRACKING_PASSWORD", ""))
    return httpx.Client(base_url=url.rstrip("/"), headers=headers, auth=auth, timeout=timeout)


def read_server(client: httpx.Client, left_out: LeftOut | None = None) -> Iterator[MlflowRun]:
    """The active runs of every active experiment (experiments in the server's order, runs by start time);
    deleted experiments and runs are counted in ``left_out``."""
    left_out = left_out if left_out is not None else LeftOut()
    left_out.counts["deleted experiments"] += sum(1 for _ in _experiments(client, "DELETED_ONLY"))
    for experiment in _experiments(client, "ACTIVE_ONLY"):
        exp_id, name = str(experiment["experiment_id"]), str(experiment.get("name", ""))
        left_out.counts["deleted runs"] += sum(1 for _ in _runs(client, exp_id, "DELETED_ONLY"))
        models = _models_by_run(client, exp_id)
        runs = [_run(client, raw, name, models) for raw in _runs(client, exp_id, "ACTIVE_ONLY")]
        yield from sorted(runs, key=lambda r: (r.start_ms or 0, r.run_id))


def _run(client: httpx.Client, raw: dict[str, Any], experiment: str, models: dict[str, set[str]]) -> MlflowRun:
    info, data = raw.get("info", {}), raw.get("data", {})
    run_id = str(info["run_id"])
    tags = {t["key"]: t.get("value", "") for t in data.get("tags", [])}
    run = MlflowRun(
        run_id=run_id,
        experiment_id=str(info.get("experiment_id", "")),
        experiment=experiment,
        name=str(info.get("run_name") or tags.get("mlflow.runName") or run_id),
        status=str(info.get("status", "FINISHED")),
        start_ms=_int(info.get("start_time")),
        end_ms=_int(info.get("end_time")),
        params={p["key"]: p.get("value", "") for p in data.get("params", [])},
        tags=tags,
    )
    for key in sorted({m["key"] for m in data.get("metrics", [])}):
        run.metrics[key] = list(_history(client, run_id, key))
    outputs = {m.get("model_id") for m in raw.get("outputs", {}).get("model_outputs", [])} - {None}
    run.skipped["logged models"] += len(models.get(run_id, set()) | outputs) or model_history(tags)
    run.skipped["dataset inputs"] += len(raw.get("inputs", {}).get("dataset_inputs", []))
    listed = _artifact_count(client, run_id)
    if listed is None:
        run.skipped[f"artifact folders not listed ({info.get('artifact_uri')})"] += 1
    else:
        run.skipped["artifacts"] += listed
    return run


def _experiments(client: httpx.Client, view: str) -> Iterator[dict[str, Any]]:
    body = {"max_results": PAGE, "view_type": view}
    yield from _pages(client, "POST", "/experiments/search", body, "experiments")


def _runs(client: httpx.Client, experiment_id: str, view: str) -> Iterator[dict[str, Any]]:
    body = {"experiment_ids": [experiment_id], "max_results": PAGE, "run_view_type": view}
    yield from _pages(client, "POST", "/runs/search", body, "runs")


def _history(client: httpx.Client, run_id: str, key: str) -> Iterator[tuple[int, int, float]]:
    params = {"run_id": run_id, "metric_key": key, "max_results": HISTORY_PAGE}
    for m in _pages(client, "GET", "/metrics/get-history", params, "metrics"):
        value = m.get("value", 0.0)
        number = _FLOATS[value] if isinstance(value, str) and value in _FLOATS else float(value)
        yield int(m.get("step", 0)), int(m.get("timestamp", 0)), number


def _models_by_run(client: httpx.Client, experiment_id: str) -> dict[str, set[str]]:
    """MLflow 3's logged models of an experiment by the run that logged them (none from an MLflow 2 server)."""
    by_run: dict[str, set[str]] = {}
    body = {"experiment_ids": [experiment_id], "max_results": 100}
    try:
        for model in _pages(client, "POST", "/logged-models/search", body, "models"):
            info = model.get("info", {})
            if info.get("source_run_id"):
                by_run.setdefault(str(info["source_run_id"]), set()).add(str(info.get("model_id")))
    except MlflowServerError:
        return {}
    return by_run


def _artifact_count(client: httpx.Client, run_id: str, path: str = "") -> int | None:
    """Files under the run's artifact root, or ``None`` when the server does not list them."""
    params = {"run_id": run_id, **({"path": path} if path else {})}
    try:
        entries = list(_pages(client, "GET", "/artifacts/list", params, "files"))
    except MlflowServerError:
        return None
    count = 0
    for entry in entries:
        if entry.get("is_dir"):
            count += _artifact_count(client, run_id, str(entry["path"])) or 0
        else:
            count += 1
    return count


def _pages(client: httpx.Client, method: str, path: str, query: dict[str, Any], field: str) -> Iterator[Any]:
    """Every item of a paged MLflow list (``page_token`` / ``next_page_token``)."""
    token = None
    while True:
        args = query | ({"page_token": token} if token else {})
        if method == "GET":
            resp = client.get(API + path, params=args)
        else:
            resp = client.post(API + path, json=args)
        if resp.status_code >= 400:
            raise MlflowServerError(f"{method} {API}{path}: HTTP {resp.status_code}: {resp.text[:300]}")
        data = resp.json()
        yield from data.get(field, [])
        token = data.get("next_page_token")
        if not token:
            return


def _int(value: object) -> int | None:
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
