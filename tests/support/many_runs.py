"""Many runs written fast through the store (issue 25): run rows, their flattened config and their metric
points in one transaction, instead of three HTTP requests per run. The values are a pure function of the
run's index, so a test computes what it expects from the same function."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, insert

from trainboard.server.settings import Settings
from trainboard.server.store import metrics
from trainboard.server.store.engine import make_engines, upgrade
from trainboard.server.store.run_config import flatten
from trainboard.server.store.tables import run_config, runs

STATUSES = ("completed", "failed", "interrupted", "running")


@dataclass(frozen=True)
class Spec:
    """Run ``i`` of a project of ``count``: id ``{prefix}{i:05d}`` (0 the oldest), seed ``i % seeds``."""

    count: int
    project: str = "many"
    prefix: str = "m"
    seeds: int = 3
    #: steps logged by run i: ``steps_of(i)`` (different ranges on purpose)
    base_steps: int = 10

    def run_id(self, i: int) -> str:
        return f"{self.prefix}{i:05d}"

    def config(self, i: int) -> dict[str, object]:
        return {"lr": [1e-4, 3e-4, 1e-3, 3e-3][i % 4], "seed": i % self.seeds, "model": ["small", "base"][i % 2]}

    def steps_of(self, i: int) -> int:
        return self.base_steps + i % 5  # runs end at different steps

    def loss(self, i: int, step: int) -> float:
        return 2.0 / (1 + step) + (i % 97) / 97.0 + 0.01 * (i % self.seeds)


def write(conn: Connection, spec: Spec) -> None:
    """Every run of ``spec`` into the database behind ``conn`` (the caller's transaction)."""
    now = time.time()
    run_rows: list[dict[str, object]] = []
    config_rows: list[dict[str, object]] = []
    for i in range(spec.count):
        rid = spec.run_id(i)
        cfg = spec.config(i)
        run_rows.append(
            {
                "id": rid,
                "name": f"run-{i:05d}",
                "project": spec.project,
                "status": STATUSES[i % len(STATUSES)],
                "config": json.dumps(cfg),
                "start_time": now - (spec.count - i),  # i = 0 is the oldest
                "end_time": None if i % 4 == 3 else now - (spec.count - i) + 60,
                "created_at": now,
            }
        )
        config_rows.extend({"run_id": rid, "key": k, "num": n, "text": t} for k, n, t in flatten(cfg))
    for start in range(0, len(run_rows), 2000):
        conn.execute(insert(runs), run_rows[start : start + 2000])
    for start in range(0, len(config_rows), 5000):
        conn.execute(insert(run_config), config_rows[start : start + 5000])
    for i in range(spec.count):
        points: list[metrics.Point] = [
            (None, s, now, {"loss": spec.loss(i, s), "acc": 1.0 - spec.loss(i, s) / 4}) for s in range(spec.steps_of(i))
        ]
        metrics.ingest(conn, run_id=spec.run_id(i), stream=None, points=points)


def seed_data_dir(data_dir: Path, spec: Spec, db_url: str | None = None) -> None:
    """Create the database of a server's data directory (migrated) and write ``spec`` into it, before the
    server starts."""
    data_dir.mkdir(parents=True, exist_ok=True)
    settings = Settings(data_dir=data_dir, db_url=db_url, serve_ui=False)
    engines = make_engines(settings)
    try:
        upgrade(engines.writer)
        with engines.writer.begin() as conn:
            write(conn, spec)
    finally:
        engines.dispose()
