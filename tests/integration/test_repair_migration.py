"""Values an earlier version stored without today's input rules are repaired by migration 0004, and a list
never fails as a whole because of one row: a database at revision 0003 is filled with every kind of bad value
the old API let in, then a real ``trainboard serve`` (which migrates on start) serves every list."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic import command
from sqlalchemy import Connection, insert
from tests.support.servers import ServerProcess

from trainboard.server.settings import Settings
from trainboard.server.store.engine import alembic_config, make_engines
from trainboard.server.store.tables import checkpoints, events, log_chunks, log_lines, runs
from trainboard.wire import TOO_DEEP_MARKER

NOW = 1_760_000_000.0


def _deep(levels: int) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    cur = doc
    for _ in range(levels):
        cur["x"] = {}
        cur = cur["x"]
    return doc


#: run id -> (config as the old version stored it (json.dumps text), start_time, exit_code)
BAD_RUNS: dict[str, tuple[str, float, int | None]] = {
    "surrogate": (json.dumps({"a": "\udc00", "\udc01": 1}), NOW, None),
    "deep300": (json.dumps(_deep(300)), NOW, None),
    "nan": (json.dumps({"lr": float("nan"), "top": float("inf")}), NOW, None),
    "year9999": (json.dumps({}), 253_370_764_800.0, None),
    "infinite-start": (json.dumps({}), float("inf"), None),
    "huge-exit": (json.dumps({}), NOW, 2**40),
    "not-json": ("{not json", NOW, None),
    "good": (json.dumps({"lr": 0.1}), NOW + 1, 0),
}


def _fill(conn: Connection) -> None:
    for run_id, (config, start, code) in BAD_RUNS.items():
        if code is not None and conn.dialect.name != "sqlite":
            code = min(code, 2**31 - 1)  # PostgreSQL's INTEGER column could never hold more
        conn.execute(
            insert(runs).values(
                id=run_id,
                name=run_id,
                project="p",
                status="completed",
                config=config,
                start_time=start,
                created_at=NOW,
                exit_code=code,
                log_size=6 if run_id == "good" else 0,
            )
        )
    conn.execute(
        insert(checkpoints).values(
            id="ck1",
            run_id="surrogate",
            path="/x",
            metrics=json.dumps({"loss": float("nan"), "k\udc00": 1}),
            metadata=json.dumps(_deep(300)),
            is_best=False,
            valid=True,
            created_at=1e300,
        )
    )
    conn.execute(insert(events).values(run_id="surrogate", time=1e13, kind="k", message="m", data='{"a": "\\udc00"}'))
    conn.execute(insert(log_chunks).values(run_id="good", offset=0, source="stdout", time=1e13, data=b"hello\n"))
    for n, at in enumerate([1e300, -5.0, NOW]):
        conn.execute(
            insert(log_lines).values(
                run_id="good", line_number=n, time=at, source="user", level=20, text=f"line {n}", display=f"line {n}"
            )
        )


def test_old_bad_values_are_repaired_and_every_list_serves(
    make_server: Callable[..., ServerProcess], tmp_path: Path, db_url: str | None
) -> None:
    server = make_server(start=False)
    engines = make_engines(Settings(data_dir=server.data_dir, db_url=db_url))
    cfg = alembic_config()
    with engines.writer.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0003")
        _fill(conn)
    engines.dispose()

    server.start()  # migrates to head
    with server.client() as http:
        listed = http.get("/api/runs", params={"limit": 100})
        assert listed.status_code == 200, listed.text
        by_id = {r["id"]: r for r in listed.json()["runs"]}
        assert set(by_id) == set(BAD_RUNS)
        assert by_id["surrogate"]["config"] == {"a": "\ufffd", "\ufffd": 1}
        assert TOO_DEEP_MARKER in json.dumps(by_id["deep300"]["config"])
        assert by_id["nan"]["config"] == {"lr": "NaN", "top": "Infinity"}
        assert "<unreadable>" in by_id["not-json"]["config"]
        assert by_id["huge-exit"]["exit_code"] == 2**31 - 1
        # the year-9999 run no longer pins itself to the top: its start is its creation time
        assert by_id["year9999"]["start_time"].startswith("2025-")
        assert by_id["infinite-start"]["start_time"].startswith("2025-")
        assert listed.json()["runs"][0]["id"] == "good"

        ckpts = http.get("/api/runs/surrogate/checkpoints")
        assert ckpts.status_code == 200, ckpts.text
        ck = ckpts.json()["checkpoints"][0]
        assert ck["metrics"] == {"loss": "NaN", "k\ufffd": 1} and ck["created_at"] == "2200-01-01T00:00:00Z"
        assert TOO_DEEP_MARKER in json.dumps(ck["metadata"])
        evs = http.get("/api/runs/surrogate/events")
        assert evs.status_code == 200 and evs.json()["events"][0]["data"] == {"a": "\ufffd"}

        for fmt in ("txt", "csv", "json"):
            download = http.get("/api/runs/good/logs/download", params={"format": fmt})
            assert download.status_code == 200
            assert all(f"line {n}" in download.text for n in range(3)), (fmt, download.text)
        assert http.get("/api/runs/good/logs").content == b"hello\n"
