"""Ranks of a distributed run through a real server: rank records and the first failure, per-rank byte-exact
streams (history, SSE resume), merged lines that never glue two ranks, the rank filter, per-rank metrics,
stragglers, and 64 ranks x 1 MB."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import httpx
import pytest
from tests.support.servers import ServerProcess
from tests.support.sse import events
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

B64 = base64.b64encode


def chunk(data: bytes, rank: int | None, source: str = "stdout", seq: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"source": source, "data": B64(data).decode()}
    if rank is not None:
        out["rank"] = rank
    if seq is not None:
        out["seq"] = seq
    return out


def loc(resp: httpx.Response) -> list[Any]:
    assert resp.status_code == 422, resp.text
    return [e["loc"] for e in resp.json()["detail"]]


def test_rank_records_first_failure_and_bad_input(http: httpx.Client) -> None:
    http.post("/api/runs", json={"id": "ddp", "name": "ddp"}).raise_for_status()
    for rank in range(4):
        body = {"local_rank": rank % 2, "node": f"n{rank // 2}", "node_rank": rank // 2, "world_size": 4}
        got = http.put(f"/api/runs/ddp/ranks/{rank}", json=body | {"launcher": "torchrun", "gpus": [rank % 2]})
        assert got.status_code == 200, got.text
        assert got.json()["node"] == f"n{rank // 2}" and got.json()["gpus"] == [rank % 2]
    # later calls update the given fields only
    now = time.time()
    http.put(
        "/api/runs/ddp/ranks/3", json={"exit_code": 1, "ended_at": now, "error": "NCCL timeout"}
    ).raise_for_status()
    got = http.put(
        "/api/runs/ddp/ranks/2",
        json={"exit_code": 1, "ended_at": now - 5, "error": "ValueError: boom\n  at train.py:10"},
    ).json()
    assert got["node"] == "n1" and got["launcher"] == "torchrun" and got["exit_code"] == 1
    http.put("/api/runs/ddp/ranks/0", json={"exit_code": 0, "ended_at": now - 10}).raise_for_status()
    listed = http.get("/api/runs/ddp/ranks").json()
    assert [r["rank"] for r in listed["ranks"]] == [0, 1, 2, 3]
    assert listed["world_size"] == 4
    assert listed["first_failure"] == {
        "rank": 2,
        "node": "n1",
        "error": "ValueError: boom\n  at train.py:10",
        "ended_at": pytest.approx(now - 5),
    }
    assert listed["ranks"][1]["exit_code"] is None and listed["ranks"][1]["bytes"] == 0
    # bad input names the field
    assert ["path", "rank"] in loc(http.put("/api/runs/ddp/ranks/1048576", json={}))
    assert ["path", "rank"] in loc(http.put("/api/runs/ddp/ranks/-1", json={}))
    assert ["path", "rank"] in loc(http.put("/api/runs/ddp/ranks/x", json={}))
    assert ["body", "launcher"] in loc(http.put("/api/runs/ddp/ranks/1", json={"launcher": "horovod"}))
    assert ["body", "error"] in loc(http.put("/api/runs/ddp/ranks/1", json={"error": "x" * 4001}))
    assert ["body", "gpus", 0] in loc(http.put("/api/runs/ddp/ranks/1", json={"gpus": [-1]}))
    assert ["body", "hostname"] in loc(http.put("/api/runs/ddp/ranks/1", json={"hostname": "n0"}))
    assert ["query", "rank"] in loc(http.get("/api/runs/ddp/logs", params={"rank": "two"}))
    assert ["query", "rank"] in loc(http.get("/api/runs/ddp/logs", params={"rank": 9}))  # no such rank
    assert ["query", "rank"] in loc(http.get("/api/runs/ddp/metrics", params={"rank": "-3"}))
    assert ["query", "search"] in loc(http.get("/api/runs/ddp/logs/lines", params={"search": "rank:x"}))
    bad_chunk = {"chunks": [chunk(b"x", None) | {"rank": 1 << 20}]}
    assert ["body", "chunks", 0, "rank"] in loc(http.post("/api/runs/ddp/logs/raw", json=bad_chunk))
    bad_point = {"points": [{"step": 1, "metrics": {"loss": 1.0}, "rank": "1"}]}
    assert ["body", "points", 0, "rank"] in loc(http.post("/api/runs/ddp/metrics", json=bad_point))
    assert http.put("/api/runs/nope/ranks/0", json={}).status_code == 404
    assert http.get("/api/runs/nope/ranks").status_code == 404


def test_rank_streams_are_exact_and_merged_lines_never_glue(http: httpx.Client, server: ServerProcess) -> None:
    http.post("/api/runs", json={"id": "streams"}).raise_for_status()
    # the ranks' writes interleave mid-line, as four processes printing at once do
    parts = [
        (0, b"rank0 step 0 loss 4.43"),
        (1, b"rank1 step 0 "),
        (None, b"launcher: starting 4 workers\n"),
        (0, b"73\nrank0 step 1\n"),
        (1, b"loss 4.41\n"),
        (2, b"\x1b[31mrank2 red\x1b[0m\r\nprogress 10%\rprogress 100%\n"),
        (3, b"rank3 \xff\xfe bytes\n"),
        (2, b"rank2 tail without newline"),
    ]
    for seq, (rank, data) in enumerate(parts):
        http.post("/api/runs/streams/logs/raw", json={"stream": "s", "chunks": [chunk(data, rank, seq=seq)]})
    # a re-sent chunk is not stored twice
    http.post("/api/runs/streams/logs/raw", json={"stream": "s", "chunks": [chunk(parts[0][1], 0, seq=0)]})
    expected = {r: b"".join(d for rr, d in parts if rr == r) for r in (0, 1, 2, 3)}
    for rank, data in expected.items():
        got = http.get("/api/runs/streams/logs", params={"rank": rank})
        assert got.content == data, rank
        assert got.headers["X-Log-Size"] == str(len(data))
    # paging by the rank's own offsets
    assert http.get("/api/runs/streams/logs", params={"rank": 0, "offset": 6, "limit": 6}).content == b"step 0"
    assert http.get("/api/runs/streams/logs", params={"rank": 2, "tail": 7}).content == b"newline"
    # without rank: the run's whole log as before (every byte, in arrival order)
    assert http.get("/api/runs/streams/logs").content == b"".join(d for _r, d in parts)
    records = {r["rank"]: r for r in http.get("/api/runs/streams/ranks").json()["ranks"]}
    assert {r: records[r]["bytes"] for r in expected} == {r: len(d) for r, d in expected.items()}

    lines = http.get("/api/runs/streams/logs/lines").json()["lines"]
    texts = [(ln["rank"], ln["message"]) for ln in lines]  # open lines (each stream's last) included
    assert (0, "rank0 step 0 loss 4.4373") in texts and (1, "rank1 step 0 loss 4.41") in texts
    assert (None, "launcher: starting 4 workers") in texts and (2, "progress 100%") in texts
    assert all("rank" not in text[len(f"rank{r}") :] for r, text in texts if r is not None)  # nothing glued
    only2 = http.get("/api/runs/streams/logs/lines", params={"rank": 2}).json()["lines"]
    assert {ln["rank"] for ln in only2} == {2} and only2[-1]["provisional"]
    assert only2[-1]["message"] == "rank2 tail without newline"
    found = http.get("/api/runs/streams/logs/lines", params={"search": "rank:1 loss"}).json()
    assert [ln["message"] for ln in found["lines"]] == ["rank1 step 0 loss 4.41"] and found["total"] == 1
    assert http.get("/api/runs/streams/logs/lines", params={"search": "rank:1", "rank": 2}).status_code == 422

    # SSE of one rank: its bytes with its own offsets; Last-Event-ID resumes exactly
    def sse(rank: int, last_event_id: str | None = None, stop_after: int = 1) -> tuple[bytes, list[str]]:
        headers = {} if last_event_id is None else {"Last-Event-ID": last_event_id}
        data, ids = bytearray(), []
        with httpx.stream(
            "GET", f"{server.url}/api/runs/streams/logs/stream", params={"rank": rank}, headers=headers, timeout=30
        ) as resp:
            resp.raise_for_status()
            for ev in events(resp):
                if ev.event == "log":
                    data += ev.payload
                    ids.append(ev.id or "")
                    if len(data) >= stop_after:
                        break
        return bytes(data), ids

    data, ids = sse(0, stop_after=len(expected[0]))
    assert data == expected[0] and ids[-1] == str(len(expected[0]))
    assert sse(0, last_event_id="13", stop_after=len(expected[0]) - 13)[0] == expected[0][13:]
    # live: a chunk of rank 1 written while rank 1's stream is open arrives, other ranks' do not
    with httpx.stream(
        "GET",
        f"{server.url}/api/runs/streams/logs/stream",
        params={"rank": 1},
        headers={"Last-Event-ID": str(len(expected[1]))},
        timeout=30,
    ) as resp:
        http.post("/api/runs/streams/logs/raw", json={"chunks": [chunk(b"other rank\n", 3)]})
        http.post("/api/runs/streams/logs/raw", json={"chunks": [chunk(b"rank1 live\n", 1)]})
        for ev in events(resp):
            if ev.event == "log":
                assert ev.payload == b"rank1 live\n" and ev.id == str(len(expected[1]) + 11)
                break
    http.put("/api/runs/streams", json={"status": "completed"}).raise_for_status()
    with httpx.stream("GET", f"{server.url}/api/runs/streams/logs/stream", params={"rank": 3}, timeout=30) as resp:
        kinds = [ev.event for ev in events(resp)]
    assert kinds[-1] == "done"


def test_rank_metrics_and_a_straggler(http: httpx.Client) -> None:
    http.post("/api/runs", json={"id": "strag"}).raise_for_status()
    t0 = time.time() - 100
    for rank in range(4):
        http.put(f"/api/runs/strag/ranks/{rank}", json={"world_size": 4}).raise_for_status()
        step_time = 1.6 if rank == 3 else 1.0
        points = [
            {"step": s, "timestamp": t0 + s * step_time, "metrics": {"loss": 1.0 / (s + 1) + rank}} for s in range(12)
        ]
        body: dict[str, Any] = {"stream": f"r{rank}", "points": points}
        if rank:
            body["rank"] = rank  # the batch's rank; rank 0 sends none
        assert http.post("/api/runs/strag/metrics", json=body).json()["accepted"] == 12
    # rank 0's series are the run's default; another rank's on request
    assert http.get("/api/runs/strag/metrics").json()["metrics"]["loss"]["value"][0] == 1.0
    r3 = http.get("/api/runs/strag/metrics", params={"rank": 3}).json()
    assert r3["rank"] == 3 and r3["metrics"]["loss"]["value"][0] == 4.0 and r3["metrics"]["loss"]["count"] == 12
    every = http.get("/api/runs/strag/metrics", params={"rank": "all", "keys": "loss"}).json()
    assert sorted((s["key"], s["rank"]) for s in every["per_rank"]) == [("loss", 1), ("loss", 2), ("loss", 3)]
    # a point-level rank in a mixed batch
    mixed = {"points": [{"step": 12, "metrics": {"acc": 0.5}, "rank": 2}, {"step": 12, "metrics": {"acc": 0.7}}]}
    assert http.post("/api/runs/strag/metrics", json=mixed).json()["accepted"] == 2
    assert http.get("/api/runs/strag/metrics", params={"rank": 2, "keys": "acc"}).json()["metrics"]["acc"]["value"] == [
        0.5
    ]
    # re-sending a rank's batch adds nothing
    again = {"stream": "r3", "rank": 3, "points": [{"seq": 1, "step": 99, "metrics": {"loss": 1.0}}]}
    http.post("/api/runs/strag/metrics", json=again)
    assert http.post("/api/runs/strag/metrics", json=again).json() == {"accepted": 0, "duplicates": 1, "last_step": 99}

    ranks = {r["rank"]: r for r in http.get("/api/runs/strag/ranks").json()["ranks"]}
    assert ranks[3]["straggler"] is True and ranks[3]["slower_by_percent"] == pytest.approx(60.0, abs=1)
    assert ranks[3]["step_time_median"] == pytest.approx(1.6)
    assert not any(ranks[r]["straggler"] for r in (0, 1, 2)) and ranks[0]["step_time_median"] == pytest.approx(1.0)
    http.get("/api/runs/strag/ranks")
    kinds = [e for e in http.get("/api/runs/strag/events").json()["events"] if e["kind"] == "straggler"]
    assert len(kinds) == 1 and kinds[0]["data"]["rank"] == 3 and "rank 3" in kinds[0]["message"]
    # deleting the run removes its ranks and their series
    assert http.delete("/api/runs/strag").status_code in (200, 204)
    assert http.get("/api/runs/strag/ranks").status_code == 404


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_64_ranks_of_1_mb_recorded_and_browsable(http: httpx.Client) -> None:
    http.post("/api/runs", json={"id": "wide"}).raise_for_status()
    line = b"0123456789abcdefghijklmnopqrstuvwxyz " * 3 + b"\n"  # 112 bytes
    per_rank = line * (1024 * 1024 // len(line))
    started = time.monotonic()
    for rank in range(64):
        http.put(f"/api/runs/wide/ranks/{rank}", json={"world_size": 64, "node": f"n{rank // 8}"})
        body = per_rank.replace(b"0123", b"%04d" % rank)
        for lo in range(0, len(body), 256 * 1024):
            part = body[lo : lo + 256 * 1024]
            http.post("/api/runs/wide/logs/raw", json={"chunks": [chunk(part, rank)]}).raise_for_status()
    took = time.monotonic() - started
    print(f"64 ranks x {len(per_rank)} bytes written in {took:.1f} s ({64 * len(per_rank) / took / 1e6:.1f} MB/s)")
    listed = http.get("/api/runs/wide/ranks").json()
    assert len(listed["ranks"]) == 64 and {r["bytes"] for r in listed["ranks"]} == {len(per_rank)}
    for rank in (0, 37, 63):
        got = http.get("/api/runs/wide/logs", params={"rank": rank}).content
        assert got == per_rank.replace(b"0123", b"%04d" % rank)
    page = http.get("/api/runs/wide/logs/lines", params={"rank": 63, "limit": 5}).json()
    assert page["total"] == len(per_rank) // len(line) and all(ln["rank"] == 63 for ln in page["lines"])
    assert page["lines"][0]["message"] == line.decode().strip().replace("0123", "0063")


def test_the_line_socket_follows_one_rank(http: httpx.Client, server: ServerProcess) -> None:
    http.post("/api/runs", json={"id": "sock"}).raise_for_status()
    for rank in range(3):
        http.post("/api/runs/sock/logs/raw", json={"chunks": [chunk(b"r%d first\nr%d second\n" % (rank, rank), rank)]})
    base = server.url.replace("http://", "ws://")
    seen: list[dict[str, Any]] = []
    wrote = False
    with connect(f"{base}/api/runs/sock/lines/ws?rank=1") as ws:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not any(ln["message"] == "r1 live" for ln in seen):
            msg = json.loads(ws.recv(timeout=30))
            if msg["type"] != "lines":
                continue
            seen += msg["lines"]
            if not wrote:  # the history came: now live lines of two ranks (final once the next line starts)
                wrote = True
                for rank in (2, 1):
                    body = {"chunks": [chunk(b"r%d live\nr%d more\n" % (rank, rank), rank)]}
                    http.post("/api/runs/sock/logs/raw", json=body)
    messages = [ln["message"] for ln in seen]
    assert {ln["rank"] for ln in seen} == {1}, seen
    assert messages[:2] == ["r1 first", "r1 second"] and "r1 live" in messages and "r2 live" not in messages
    with pytest.raises(InvalidStatus), connect(f"{base}/api/runs/sock/lines/ws?rank=-1"):
        pass
