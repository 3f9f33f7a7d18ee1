"""Search across runs (GET /api/logs/search) through a real server with authentication on, on SQLite and
PostgreSQL: words and phrases through the full-text index, the query language's other terms, a project,
paging by cursor, errors naming the position, and who may read what."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.support.auth import Seeded, add_token, seed
from tests.support.servers import ServerProcess

T0 = 1_700_000_000.0  # 2023-11-14 22:13:20 UTC


def _lines(run: str) -> list[str]:
    out = [f"step {i} loss {1 / (i + 1):.4f}" for i in range(40)]
    out[5] = "NCCL timeout: watchdog caught collective operation timeout"
    out[17] = json.dumps({"event": "NCCL timeout on rank 3", "level": "error", "step": 1700, "logger": "train.dist"})
    out[30] = 'level=warning msg="CUDA out of memory, retrying" step=3000 logger=train.data'
    out[31] = "the timeouts module loaded"  # `timeout` as part of a longer word: not a whole-word match
    out[32] = f"run {run} finished <script>alert(1)</script>"
    return out


@pytest.fixture
def world(tmp_path: Path, db_url: str | None) -> Iterator[tuple[httpx.Client, Seeded, Path]]:
    data = tmp_path / "data"
    seeded = seed(data, db_url)
    server = ServerProcess(data_dir=data, db_url=db_url).start()
    try:
        with httpx.Client(base_url=server.url, timeout=30.0) as c:
            ed = seeded.headers("ed")
            for run, project in (("run-a", "vision"), ("run-b", "vision"), ("run-c", "nlp")):
                c.post("/api/runs", json={"id": run, "name": run, "project": project}, headers=ed).raise_for_status()
                text = "\n".join(_lines(run)) + "\n"
                chunk = {"seq": 1, "source": "stdout", "time": T0, "data": base64.b64encode(text.encode()).decode()}
                c.post(f"/api/runs/{run}/logs/raw", json={"chunks": [chunk]}, headers=ed).raise_for_status()
            yield c, seeded, data
    finally:
        server.stop()


def _search(c: httpx.Client, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    resp = c.get("/api/logs/search", params=params, headers=headers)
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


def _hits(c: httpx.Client, headers: dict[str, str], q: str, **params: Any) -> list[tuple[str, int]]:
    body = _search(c, headers, q=q, limit=500, **params)
    return sorted((h["run_id"], h["line"]) for h in body["hits"])


def test_search_across_runs(world: tuple[httpx.Client, Seeded, Path], db_url: str | None) -> None:
    c, seeded, data = world
    vic = seeded.headers("vic")
    all_runs = ["run-a", "run-b", "run-c"]

    body = _search(c, vic, q="NCCL timeout")
    assert body["indexed"] is True and body["partial"] is False and body["next_cursor"] is None
    assert sorted((h["run_id"], h["line"]) for h in body["hits"]) == [(r, n) for r in all_runs for n in (5, 17)]
    hit = next(h for h in body["hits"] if h["line"] == 5)
    assert hit["message"].startswith("NCCL timeout") and hit["match"] == [[0, 4], [5, 12], [51, 58]]
    assert hit["timestamp"] == pytest.approx(T0) and hit["run_name"] == hit["run_id"]
    structured = next(h for h in body["hits"] if h["line"] == 17)
    assert structured["message"] == "NCCL timeout on rank 3" and structured["level"] == "ERROR"
    assert structured["logger"] == "train.dist" and structured["fields"] == {"step": 1700}

    # words are whole words across runs; phrases are phrases; negation; projects
    assert _hits(c, vic, "timeout") == [(r, n) for r in all_runs for n in (5, 17)]
    assert _hits(c, vic, '"collective operation"') == [(r, 5) for r in all_runs]
    assert _hits(c, vic, '"operation collective"') == []
    assert _hits(c, vic, "timeout -watchdog") == [(r, 17) for r in all_runs]
    assert _hits(c, vic, "NCCL", project="nlp") == [("run-c", 5), ("run-c", 17)]

    # the query language's other terms
    assert _hits(c, vic, "timeout level>=error") == [(r, 17) for r in all_runs]
    assert _hits(c, vic, "level>=warning logger:train") == [(r, n) for r in all_runs for n in (17, 30)]
    assert _hits(c, vic, "memory field.step>=3000") == [(r, 30) for r in all_runs]
    assert _hits(c, vic, "memory field.step<3000") == []
    assert _hits(c, vic, "finished /run-[ab] /") == [("run-a", 32), ("run-b", 32)]
    assert _hits(c, vic, "timeout time:22:13..22:14") == [(r, n) for r in all_runs for n in (5, 17)]
    assert _hits(c, vic, "timeout time:22:14..22:15") == []
    assert _hits(c, vic, "timeout time:23:13..23:14", tz="Europe/Paris") == [(r, n) for r in all_runs for n in (5, 17)]
    assert _hits(c, vic, "timeout time:2023-11-14..2023-11-14") == [(r, n) for r in all_runs for n in (5, 17)]
    assert _hits(c, vic, "timeout time:-1d..") == []  # T0 is long ago
    assert _hits(c, vic, "source:stderr timeout") == []
    script = _search(c, vic, q="script")["hits"]
    assert {h["message"] for h in script} == {f"run {r} finished <script>alert(1)</script>" for r in all_runs}

    # no word: read newest first, said so
    unindexed = _search(c, vic, q="level>=error")
    assert unindexed["indexed"] is False and {h["line"] for h in unindexed["hits"]} == {17}

    # paging: every hit once, in order, through the cursor
    seen: list[tuple[str, int]] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"q": "step", "limit": 7}
        if cursor:
            params["cursor"] = cursor
        page = _search(c, vic, **params)
        seen += [(h["run_id"], h["line"]) for h in page["hits"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    # every final `step N loss` line (the last line of a running run is still open: not searchable yet); the
    # structured lines' messages have no `step` (a field is not text)
    step_lines = 3 * (40 - 5 - 1)
    assert len(seen) == len(set(seen)) == step_lines and pages == -(-step_lines // 7)

    # errors name the field and the position
    bad = c.get("/api/logs/search", params={"q": 'NCCL "unclosed'}, headers=vic)
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["query", "q"] and bad.json()["detail"][0]["msg"] == 'at 5: unclosed "'
    bad = c.get("/api/logs/search", params={"q": "x", "cursor": "bm90IGEgY3Vyc29y"}, headers=vic)
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "cursor"]
    bad = c.get("/api/logs/search", params={"q": "x", "tz": "Mars/Base"}, headers=vic)
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "tz"]
    bad = c.get("/api/logs/search", params={"q": "x", "limit": 0}, headers=vic)
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "limit"]

    # who may read: no credentials 401; a run-scoped token (a training job's) may not search across runs
    assert c.get("/api/logs/search", params={"q": "NCCL"}).status_code == 401
    _, secret = add_token(data, db_url, name="run-b-token", scope="read", user="vic", run_id="run-b")
    scoped = {"Authorization": f"Bearer {secret}"}
    assert c.get("/api/logs/search", params={"q": "NCCL"}, headers=scoped).status_code == 403

    # a deleted run's lines are gone from the index
    assert c.delete("/api/runs/run-c", headers=seeded.headers("ann")).status_code in (200, 204)
    assert _hits(c, vic, "NCCL") == [(r, n) for r in ("run-a", "run-b") for n in (5, 17)]
    assert _hits(c, vic, "field.step>=1700") == [(r, n) for r in ("run-a", "run-b") for n in (17, 30)]


def test_windows_and_partial_pages(tmp_path: Path, db_url: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Candidates are read in windows and a page stops after its limit of them (`partial`, with a cursor that
    goes on): every match is still found once, in order, across pages (small windows, the store called directly)."""
    from datetime import UTC

    from trainboard.server.ingest.log_indexer import store_final
    from trainboard.server.loglines.query import parse
    from trainboard.server.settings import Settings
    from trainboard.server.store import line_search
    from trainboard.server.store import runs as runs_store
    from trainboard.server.store.engine import make_engines, upgrade

    engines = make_engines(Settings(data_dir=tmp_path / "data", db_url=db_url))
    upgrade(engines.writer)
    with engines.writer.begin() as conn:
        for run in ("r1", "r2"):
            runs_store.create_run(conn, run_id=run, name=run, project="p", config={}, start_time=T0)
            rows = [
                (i, T0 + i, "stdout", 40 if i % 37 == 0 else 20, f"step {i} loss {'high' if i % 37 == 0 else 'ok'}", "")
                for i in range(300)
            ]
            store_final(conn, run, rows)
    monkeypatch.setattr(line_search, "WINDOW", 16)
    monkeypatch.setattr(line_search, "MAX_EXAMINED", 64)
    try:
        with engines.reader.connect() as conn:
            for q, expected in (("loss level>=error", 2 * 9), ("loss /high/", 2 * 9), ("step", 600)):
                found: list[tuple[str, int]] = []
                cursor = None
                partial_pages = 0
                for _ in range(200):
                    page = line_search.search(conn, query=parse(q), tz=UTC, now=T0, cursor=cursor, limit=5)
                    found += [(h["run_id"], h["line"]) for h in page.hits]
                    partial_pages += page.partial
                    cursor = page.next_cursor
                    if cursor is None:
                        break
                assert len(found) == len(set(found)) == expected, q
                assert found == sorted(found, key=lambda h: (h[0] == "r1", -h[1])) or db_url is not None
                assert (partial_pages > 0) == (q != "step"), q  # a selective filter over many candidates
    finally:
        engines.writer.dispose()
        engines.reader.dispose()
