"""``trainboard import``: send runs read from other tools (``importers/``) to a running server.

Through the server's HTTP API (so it works against a remote dashboard with a token, and the client needs none of
the server's packages): each run is created with its derived id (creating an existing id is a no-op), then its
points are posted per source file with that file's stream id and their index as sequence numbers, which the
server ignores when it has them already: re-importing adds nothing. Rich values a reader found (TensorBoard's
histograms, images, text) are posted to ``/api/runs/{id}/rich``, stored once per (key, step). What a reader did not
import (audio, other media) is said per run, with counts, and kept in the run's config under ``import_skipped``.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import httpx

from trainboard.importers import ImportedRun, skipped_text
from trainboard.importers.mlflow import LeftOut
from trainboard.wire import encode_float
from trainboard.wire.rich import MAX_VALUES_PER_REQUEST

__all__ = ["BATCH_POINTS", "Uploaded", "aim_runs", "import_runs", "left_out_line", "mlflow_runs", "upload_run"]

#: points per request
BATCH_POINTS = 2000

Fail = Callable[[str], Exception]


@dataclass(slots=True)
class Uploaded:
    run_id: str
    points: int = 0
    accepted: int = 0
    duplicates: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    #: rich values (histograms, images, text) stored
    rich: int = 0

    def line(self, name: str) -> str:
        """What ``trainboard import`` prints for the run."""
        text = f"{name}: run {self.run_id}, {self.points} points "
        text += f"({self.accepted} values new, {self.duplicates} already there)"
        if self.rich:
            text += f", {self.rich} histograms, images and texts"
        skipped = skipped_text(self.skipped)
        return text + (f"; not imported: {skipped}" if skipped else "; nothing skipped")


def import_runs(
    client: httpx.Client, runs: Iterable[ImportedRun], *, project: str | None, fail: Fail, echo: Callable[[str], None]
) -> int:
    """Upload each run, ``echo`` its line; returns how many runs there were."""
    count = 0
    for imported in runs:
        done = upload_run(client, imported, project=project, fail=fail)
        count += 1
        echo(done.line(imported.name))
    return count


def upload_run(client: httpx.Client, run: ImportedRun, *, project: str | None, fail: Fail) -> Uploaded:
    """Create ``run`` (with its status, tags and notes) in ``project`` (``None``: the source's project, else
    ``default``) and post its points; ``fail`` makes the error for a refused request."""
    config = dict(run.config)
    if run.skipped:
        config["import_skipped"] = dict(run.skipped)
    body: dict[str, object] = {
        "id": run.run_id,
        "name": run.name,
        "project": project or run.project or "default",
        "config": config,
        "status": run.status,
    }
    if run.start_time is not None:
        body["start_time"] = datetime.fromtimestamp(run.start_time, UTC).isoformat()
    created = _check(client.post("/api/runs", json=body), f"creating run {run.name!r}", fail)
    if run.tags:
        tags = [_tag(t) for t in run.tags]
        _check(client.post(f"/api/runs/{run.run_id}/tags", json={"add": tags}), f"tagging {run.name!r}", fail)
    update: dict[str, object] = {}
    if created.get("status", run.status) != run.status:  # imported before, and the source's run has moved on since
        update["status"] = run.status
    if run.notes:
        update["notes"] = run.notes
    if run.exit_code is not None:
        update["exit_code"] = run.exit_code
    if update:
        _check(client.put(f"/api/runs/{run.run_id}", json=update), f"updating run {run.name!r}", fail)
    done = Uploaded(run.run_id, skipped=run.skipped)
    for series in run.series:
        for first in range(0, len(series.points), BATCH_POINTS):
            points = [
                {
                    "seq": first + i,
                    "step": step,
                    "timestamp": wall,
                    "metrics": {k: encode_float(v) for k, v in values.items()},
                }
                for i, (step, wall, values) in enumerate(series.points[first : first + BATCH_POINTS])
            ]
            resp = client.post(f"/api/runs/{run.run_id}/metrics", json={"stream": series.stream, "points": points})
            result = _check(resp, f"sending the metrics of {run.name!r}", fail)
            done.points += len(points)
            done.accepted += int(result.get("accepted", 0))
            done.duplicates += int(result.get("duplicates", 0))
    for batch in _rich_batches(run.rich):
        resp = client.post(f"/api/runs/{run.run_id}/rich", json={"values": batch})
        done.rich += len(_check(resp, f"sending the histograms, images and text of {run.name!r}", fail)["stored"])
    return done


def _rich_batches(values: list[dict[str, Any]], max_bytes: int = 12 << 20) -> Iterator[list[dict[str, Any]]]:
    """Rich values in requests of at most ``MAX_VALUES_PER_REQUEST`` values and about ``max_bytes``."""
    batch: list[dict[str, Any]] = []
    size = 0
    for value in values:
        cost = len(json.dumps(value))
        if batch and (len(batch) >= MAX_VALUES_PER_REQUEST or size + cost > max_bytes):
            yield batch
            batch, size = [], 0
        batch.append(value)
        size += cost
    if batch:
        yield batch


def _check(resp: httpx.Response, doing: str, fail: Fail) -> dict[str, Any]:
    if resp.status_code >= 400:
        raise fail(f"{doing}: HTTP {resp.status_code}: {resp.text[:300]}")
    data: dict[str, Any] = resp.json()
    return data


_BAD_TAG_CHARS = re.compile(r"[,()'\"\x00-\x1f\x7f-\x9f]")


def _tag(text: str) -> str:
    """``text`` as a trainboard tag (1-64 characters, no commas, quotes or parentheses)."""
    return _BAD_TAG_CHARS.sub("_", text).strip()[:64].strip() or "_"


def mlflow_runs(source: str, left_out: LeftOut) -> Iterator[ImportedRun]:
    """The runs of an MLflow file store (a path or ``file://`` URI) or tracking server (``http(s)://``); deleted
    runs and experiments counted in ``left_out``. A server's failure raises ``MlflowServerError``."""
    from trainboard.importers.mlflow import read_store, to_imported
    from trainboard.importers.mlflow_rest import MlflowServerError, client_for, read_server

    parsed = urlparse(source)
    if parsed.scheme in ("http", "https"):
        with client_for(source) as client:
            try:
                for run in read_server(client, left_out):
                    yield to_imported(run, source=source)
            except httpx.HTTPError as exc:
                raise MlflowServerError(f"MLflow tracking server {source}: {exc}") from None
        return
    root = Path(unquote(parsed.path) if parsed.scheme == "file" else source).resolve()
    for run in read_store(root, left_out):
        yield to_imported(run, source=str(root))


def aim_runs(path: Path, fail: Callable[..., Exception]) -> Iterator[ImportedRun]:
    """The runs of the Aim repository at ``path`` (checked before any is read: a clear line when ``path`` holds no
    ``.aim`` folder or the ``aim`` package is missing)."""
    from importlib.util import find_spec

    from trainboard.importers.aim import read_repo, repo_root

    root = repo_root(path)
    if root is None:
        raise fail(f"{path} is not an Aim repository (no .aim folder in it)", code=2)
    if find_spec("aim") is None:
        raise fail("trainboard import aim reads with the aim package, which is not installed: pip install aim")
    return read_repo(root)


def left_out_line(counts: Counter[str]) -> str | None:
    """The closing line for what the source holds outside the imported runs (``None``: nothing)."""
    text = skipped_text(counts)
    return f"not imported: {text}" if text else None
