"""Coalescing of raw terminal-output records by the replayer (``sdk/replay.py``)."""

from __future__ import annotations

import json
from pathlib import Path

from trainboard.sdk import deadletter
from trainboard.sdk.replay import Replayer
from trainboard.sdk.spool import Journal, encode
from trainboard.sdk.transport import Outcome, Reply

RAW = "/api/runs/r/logs/raw"


def raw(seq: int, data: str = "QQ==") -> bytes:
    body = {"stream": "s", "chunks": [{"seq": seq, "source": "stdout", "data": data}]}
    return encode("POST", RAW, json.dumps(body, separators=(",", ":")).encode())


class FakeTransport:
    """Records every request; refuses (400) any raw body holding a chunk with a seq in ``refuse``."""

    base_url = "http://fake"

    def __init__(self, refuse: frozenset[int] = frozenset()) -> None:
        self.sent: list[tuple[str, str, bytes]] = []
        self.refuse = refuse

    def send(self, method: str, path: str, body: bytes | None = None) -> Reply:
        assert body is not None
        self.sent.append((method, path, body))
        if path == RAW and {c["seq"] for c in json.loads(body)["chunks"]} & self.refuse:
            return Reply(Outcome.REJECTED, 400, "refused")
        return Reply(Outcome.OK, 200)


def seqs(body: bytes) -> list[int]:
    return [c["seq"] for c in json.loads(body)["chunks"]]


def test_consecutive_raw_records_go_as_one_request_in_order(tmp_path: Path) -> None:
    journal = Journal.create(tmp_path, "r", "s")
    journal.append([raw(1), raw(2), raw(3), encode("POST", "/api/runs/r/metrics", b"{}"), raw(5), raw(6)])
    transport = FakeTransport()
    assert Replayer(journal, transport).run() is None  # type: ignore[arg-type]
    assert [(p, seqs(b) if p == RAW else None) for _m, p, b in transport.sent] == [
        (RAW, [1, 2, 3]),
        ("/api/runs/r/metrics", None),
        (RAW, [5, 6]),
    ]
    assert journal.done
    journal.close()


def test_a_refused_batch_is_sent_again_one_record_at_a_time_and_only_the_bad_one_is_set_aside(
    tmp_path: Path,
) -> None:
    journal = Journal.create(tmp_path, "r", "s")
    journal.append([raw(1), raw(2), raw(3)])
    transport = FakeTransport(refuse=frozenset({2}))
    assert Replayer(journal, transport).run() is None  # type: ignore[arg-type]
    assert [seqs(b) for _m, _p, b in transport.sent] == [[1, 2, 3], [1], [2], [3]]
    letters = deadletter.read(deadletter.path_for(journal.path))
    assert len(letters) == 1 and seqs(letters[0].body) == [2]
    assert journal.done
    journal.close()
