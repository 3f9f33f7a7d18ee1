"""``trainboard import``: send runs read from other tools (``importers/``) to a running server.

Through the server's HTTP API (so it works against a remote dashboard with a token, and the client needs none of
the server's packages): each run is created with its derived id (creating an existing id is a no-op), then its
points are posted per source file with that file's stream id and their index as sequence numbers, which the
server ignores when it has them already: re-importing adds nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from trainboard.importers import ImportedRun
from trainboard.wire import encode_float

__all__ = ["BATCH_POINTS", "Uploaded", "upload_run"]

#: points per request
BATCH_POINTS = 2000

Fail = Callable[[str], Exception]


@dataclass(slots=True)
class Uploaded:
    run_id: str
    points: int = 0
    accepted: int = 0
    duplicates: int = 0


def upload_run(client: httpx.Client, run: ImportedRun, *, project: str, fail: Fail) -> Uploaded:
    """Create ``run`` (completed) and post its points; ``fail`` makes the error for a refused request."""
    body: dict[str, object] = {
        "id": run.run_id,
        "name": run.name,
        "project": project,
        "config": run.config,
        "status": "completed",
    }
    if run.start_time is not None:
        body["start_time"] = datetime.fromtimestamp(run.start_time, UTC).isoformat()
    _check(client.post("/api/runs", json=body), f"creating run {run.name!r}", fail)
    done = Uploaded(run.run_id)
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
    return done


def _check(resp: httpx.Response, doing: str, fail: Fail) -> dict[str, Any]:
    if resp.status_code >= 400:
        raise fail(f"{doing}: HTTP {resp.status_code}: {resp.text[:300]}")
    data: dict[str, Any] = resp.json()
    return data
