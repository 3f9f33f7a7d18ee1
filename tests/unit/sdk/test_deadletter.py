"""Dead letters: kept with their reason, read back, rewritten, re-sent under a stream of their own."""

from __future__ import annotations

import json
from pathlib import Path

from trainboard.sdk import deadletter


def test_letters_round_trip_with_their_reason(tmp_path: Path) -> None:
    file = deadletter.path_for(tmp_path / "run" / "abc.journal")
    assert file.name == "abc.dead.jsonl"
    file.parent.mkdir()
    deadletter.add(file, "POST", "/api/runs/r/metrics", b'{"stream":"abc","blocks":[]}', "HTTP 500 5 times: boom")
    deadletter.add(file, "PUT", "/api/runs/r", b'{"status":"completed"}', "HTTP 404: not found")
    with open(file, "a") as fh:
        fh.write('{"torn')  # a killed writer's partial line is skipped
    letters = deadletter.read(file)
    assert [(x.method, x.reason) for x in letters] == [
        ("POST", "HTTP 500 5 times: boom"),
        ("PUT", "HTTP 404: not found"),
    ]
    assert list(deadletter.find(tmp_path)) == [file]
    deadletter.rewrite(file, letters[1:])
    assert [x.method for x in deadletter.read(file)] == ["PUT"]
    deadletter.rewrite(file, [])
    assert not file.exists()


def test_resent_items_travel_under_a_stream_named_after_the_letter() -> None:
    body = b'{"stream":"abc","blocks":[{"keys":["x"]}]}'
    letter = deadletter.Letter("POST", "/api/runs/r/metrics", body, "HTTP 500", 0.0)
    first = json.loads(deadletter.resend_body(letter))
    assert first["stream"].startswith("abc-dl") and first["blocks"] == [{"keys": ["x"]}]
    assert deadletter.resend_body(letter) == deadletter.resend_body(letter)  # sending it twice is a no-op
    other = deadletter.Letter("POST", "/api/runs/r/metrics", body.replace(b"x", b"y"), "HTTP 500", 0.0)
    assert json.loads(deadletter.resend_body(other))["stream"] != first["stream"]
    status = deadletter.Letter("PUT", "/api/runs/r", b'{"status":"failed"}', "HTTP 404", 0.0)
    assert deadletter.resend_body(status) == status.body
