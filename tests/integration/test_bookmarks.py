"""Log bookmarks and permalink positions through a real server with authentication on, on SQLite and PostgreSQL:
shared with readers, written by editors, removed by their author or an admin; bad places are 422s naming the
field; a line, a byte offset and a moment resolve to the line a permalink opens at."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.support.auth import Seeded, add_token, seed
from tests.support.servers import ServerProcess

T0 = 1_700_000_000.0
CHUNK = "".join(f"step {i} loss {1 / (i + 1):.4f}\n" for i in range(100))  # 100 lines, same bytes each time


@pytest.fixture
def world(tmp_path: Path, db_url: str | None) -> Iterator[tuple[httpx.Client, Seeded, Path]]:
    data = tmp_path / "data"
    seeded = seed(data, db_url)
    server = ServerProcess(data_dir=data, db_url=db_url).start()
    try:
        with httpx.Client(base_url=server.url, timeout=30.0) as c:
            ed = seeded.headers("ed")
            c.post("/api/runs", json={"id": "run-a", "name": "a"}, headers=ed).raise_for_status()
            chunks = [
                {
                    "seq": i + 1,
                    "source": "stdout",
                    "time": T0 + 10 * i,
                    "data": base64.b64encode(CHUNK.encode()).decode(),
                }
                for i in range(3)
            ]
            c.post("/api/runs/run-a/logs/raw", json={"chunks": chunks}, headers=ed).raise_for_status()
            yield c, seeded, data
    finally:
        server.stop()


def test_bookmarks_are_shared_written_by_editors_removed_by_author_or_admin(
    world: tuple[httpx.Client, Seeded, Path], db_url: str | None
) -> None:
    c, seeded, data = world
    ed, vic, ann = seeded.headers("ed"), seeded.headers("vic"), seeded.headers("ann")
    lines = c.get("/api/runs/run-a/logs/lines", params={"limit": 1000}, headers=vic).json()["lines"]
    assert len(lines) == 300
    target = lines[150]

    made = c.post(
        "/api/runs/run-a/bookmarks", json={"line_number": target["line_number"], "note": "loss spikes here"}, headers=ed
    )
    assert made.status_code == 201, made.text
    mark = made.json()
    assert mark["created_by"] == "ed" and mark["note"] == "loss spikes here"
    assert mark["time"] == target["timestamp"]  # a line's time is filled in: the metrics time line can show it
    assert mark["url"] == f"/runs/run-a?line={target['line_number']}"
    at = c.post("/api/runs/run-a/bookmarks", json={"time": T0 + 15, "note": "<b>moment</b>"}, headers=ed).json()
    assert at["url"] == f"/runs/run-a?t={T0 + 15:.3f}" and at["note"] == "<b>moment</b>"

    # a viewer sees them, cannot add or remove
    listed = c.get("/api/runs/run-a/bookmarks", headers=vic).json()
    assert [b["id"] for b in listed["bookmarks"]] == [mark["id"], at["id"]] and listed["total"] == 2
    assert c.post("/api/runs/run-a/bookmarks", json={"time": T0}, headers=vic).status_code == 403
    assert c.delete(f"/api/runs/run-a/bookmarks/{mark['id']}", headers=vic).status_code == 403

    # another editor may add but not remove ed's; an admin may
    c.post("/api/users", json={"name": "eve", "role": "editor", "password": "eve-passphrase"}, headers=ann)
    _, eve_token = add_token(data, db_url, name="eve-token", scope="write", user="eve")
    eve = {**ed, "Authorization": f"Bearer {eve_token}"}
    refused = c.delete(f"/api/runs/run-a/bookmarks/{mark['id']}", headers=eve)
    assert refused.status_code == 403 and "ed" in refused.json()["detail"]
    own = c.post("/api/runs/run-a/bookmarks", json={"offset": 5, "note": "eve's"}, headers=eve).json()
    assert c.delete(f"/api/runs/run-a/bookmarks/{own['id']}", headers=eve).status_code == 204
    assert c.delete(f"/api/runs/run-a/bookmarks/{mark['id']}", headers=ann).status_code == 204
    assert c.delete(f"/api/runs/run-a/bookmarks/{mark['id']}", headers=ann).status_code == 404
    assert [b["id"] for b in c.get("/api/runs/run-a/bookmarks", headers=vic).json()["bookmarks"]] == [at["id"]]


def test_a_bookmark_of_no_place_or_a_place_the_run_lacks_is_refused_naming_the_field(
    world: tuple[httpx.Client, Seeded, Path],
) -> None:
    c, seeded, _ = world
    ed = seeded.headers("ed")

    def refused(body: dict[str, object]) -> list[object]:
        resp = c.post("/api/runs/run-a/bookmarks", json=body, headers=ed)
        assert resp.status_code == 422, resp.text
        loc: list[object] = resp.json()["detail"][0]["loc"]
        return loc

    assert refused({"note": "where?"}) == ["body", "line_number"]
    assert refused({"line_number": 10_000}) == ["body", "line_number"]
    assert refused({"offset": 10**9}) == ["body", "offset"]
    assert refused({"time": T0, "note": "x" * 2001}) == ["body", "note"]
    assert refused({"time": T0, "extra": 1}) == ["body", "extra"]
    assert c.post("/api/runs/nope/bookmarks", json={"time": T0}, headers=ed).status_code == 404
    assert c.get("/api/runs/nope/bookmarks", headers=ed).status_code == 404
    assert c.get("/api/runs/run-a/bookmarks", headers=ed).json()["total"] == 0


def test_positions_a_permalink_opens_at(world: tuple[httpx.Client, Seeded, Path]) -> None:
    c, seeded, _ = world
    vic = seeded.headers("vic")
    lines = c.get("/api/runs/run-a/logs/lines", params={"limit": 1000}, headers=vic).json()["lines"]
    numbers = [line["line_number"] for line in lines if not line["provisional"]]  # the last is still open

    def pos(**params: float) -> dict[str, object]:
        resp = c.get("/api/runs/run-a/logs/position", params=params, headers=vic)
        assert resp.status_code == 200, resp.text
        out: dict[str, object] = resp.json()
        return out

    line = pos(line=numbers[240])
    assert line == {
        "line_number": numbers[240],
        "index": 240,
        "time": T0 + 20,
        "offset": None,
        "exact": True,
        "why": None,
    }
    beyond = pos(line=numbers[-1] + 50)
    assert beyond["line_number"] == numbers[-1] and beyond["exact"] is False and "not stored" in str(beyond["why"])
    # the second chunk starts at byte len(CHUNK): its first line
    by_offset = pos(offset=len(CHUNK) + 7)
    assert (by_offset["line_number"], by_offset["index"], by_offset["time"]) == (numbers[100], 100, T0 + 10)
    assert by_offset["exact"] is False and by_offset["offset"] == len(CHUNK) + 7
    by_time = pos(time=T0 + 15)
    assert (by_time["line_number"], by_time["index"], by_time["time"]) == (numbers[199], 199, T0 + 15)
    before = pos(time=T0 - 100)
    assert before["index"] == 0 and "nothing was printed" in str(before["why"])

    two = c.get("/api/runs/run-a/logs/position", params={"line": 1, "offset": 2}, headers=vic)
    assert two.status_code == 422 and two.json()["detail"][0]["loc"] == ["query", "offset"]
    assert c.get("/api/runs/run-a/logs/position", headers=vic).status_code == 422
    assert c.get("/api/runs/nope/logs/position", params={"line": 1}, headers=vic).status_code == 404


def test_cli_bookmark_add_and_list(world: tuple[httpx.Client, Seeded, Path], tmp_path: Path) -> None:
    c, seeded, _ = world
    url = str(c.base_url).rstrip("/")
    env = {**os.environ, "TRAINBOARD_DATA": str(tmp_path / "client"), "TRAINBOARD_TOKEN": seeded.tokens["ed"]}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, "-m", "trainboard.cli", "bookmark", *args, "--url", url]
        return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)

    added = cli("add", "run-a", "--line", "42", "--note", "grad norm \x1b[31mexplodes\x1b[0m")
    assert added.returncode == 0, added.stderr
    assert added.stdout.strip().endswith(f"{url}/runs/run-a?line=42") and "at line 42" in added.stdout
    listed = cli("list", "a")  # by name
    assert listed.returncode == 0, listed.stderr
    (row,) = listed.stdout.strip().splitlines()
    assert row.split("\t")[1:] == ["line 42", "ed", "grad norm  [31mexplodes [0m", f"{url}/runs/run-a?line=42"]
    nothing = cli("add", "run-a")
    assert nothing.returncode == 1 and "give --line, --offset or --time" in nothing.stderr
    past = cli("add", "run-a", "--offset", "999999999")
    assert past.returncode == 1 and "past the end" in past.stderr and "Traceback" not in past.stderr


def test_a_deleted_runs_bookmarks_do_not_come_back_with_a_new_run_of_its_id(
    world: tuple[httpx.Client, Seeded, Path],
) -> None:
    c, seeded, _ = world
    ed = seeded.headers("ed")
    made = c.post("/api/runs/run-a/bookmarks", json={"time": T0, "note": "old run"}, headers=ed)
    assert made.status_code == 201, made.text
    assert c.delete("/api/runs/run-a", headers=ed).status_code == 200
    c.post("/api/runs", json={"id": "run-a", "name": "again"}, headers=ed).raise_for_status()
    assert c.get("/api/runs/run-a/bookmarks", headers=ed).json() == {"bookmarks": [], "total": 0}
    assert c.delete(f"/api/runs/run-a/bookmarks/{made.json()['id']}", headers=ed).status_code == 404
