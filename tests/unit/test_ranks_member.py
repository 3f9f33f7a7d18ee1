"""The first failing rank as a run's failure reason (``sdk/rank_member``): the server's answer first, else what this
node's rank wrappers recorded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from trainboard.sdk.rank_member import first_failure_reason, local_records, reason_of, write_local


def test_reason_names_rank_node_and_error() -> None:
    failure = {"rank": 2, "node": "gpu-07", "error": "ValueError: boom (train.py:57 in step)", "ended_at": 1.0}
    assert reason_of(failure) == "rank 2 (node gpu-07) failed first: ValueError: boom (train.py:57 in step)"
    assert reason_of({"rank": 5, "node": None, "error": None, "exit_code": 139}) == "rank 5 failed first: exit code 139"


def test_this_nodes_records_when_the_server_cannot_say(tmp_path: Path) -> None:
    write_local(str(tmp_path), {"rank": 0, "node": "n0", "exit_code": 1, "ended_at": 20.0, "error": "timeout"})
    write_local(str(tmp_path), {"rank": 1, "node": "n0", "exit_code": 0, "ended_at": 5.0})
    write_local(str(tmp_path), {"rank": 3, "node": "n0", "exit_code": 143, "ended_at": 12.0, "error": "killed"})
    write_local(str(tmp_path), {"rank": 2, "node": "n0"})  # started, still running
    (tmp_path / "rank-9.json").write_text("{torn")
    records = local_records(tmp_path)
    assert sorted(r["rank"] for r in records) == [0, 1, 2, 3]

    def unreachable(path: str) -> Any:
        return None

    assert first_failure_reason(unreachable, "r", records, wait=0) == "rank 3 (node n0) failed first: killed"
    assert first_failure_reason(unreachable, "r", [r for r in records if r["rank"] in (1, 2)], wait=0) is None


def test_the_servers_first_failure_wins_and_is_waited_for() -> None:
    answers = [
        {"ranks": [], "first_failure": None},  # the other node's record is not there yet
        {"ranks": [], "first_failure": {"rank": 6, "node": "n1", "error": "OSError: disk full", "ended_at": 3.0}},
    ]
    asked: list[str] = []

    def get_json(path: str) -> Any:
        asked.append(path)
        return answers[min(len(asked), len(answers)) - 1]

    local = [{"rank": 0, "node": "n0", "exit_code": 1, "ended_at": 9.0, "error": "gloo timeout"}]
    assert first_failure_reason(get_json, "run-1", local, wait=5) == "rank 6 (node n1) failed first: OSError: disk full"
    assert asked == ["/api/runs/run-1/ranks"] * 2


def test_launcher_output_goes_out_in_whole_lines() -> None:
    from trainboard.sdk.rank_launch import WholeLines

    out: list[tuple[bytes, str]] = []
    lines = WholeLines(lambda data, source: out.append((data, source)))
    lines.feed(b"W1207 torch/distributed/run.py:874] Setting OMP_")
    lines.feed(b"NUM_THREADS\r\nnext ", "stdout")
    lines.feed(b"err part", "stderr")
    assert out == [(b"W1207 torch/distributed/run.py:874] Setting OMP_NUM_THREADS\r\n", "stdout")]
    lines.feed(b"x" * 70_000)  # no newline for long: handed on rather than held
    assert out[-1] == (b"next " + b"x" * 70_000, "stdout")
    lines.close()
    assert out[-1] == (b"err part", "stderr")
