import json
import math

import pytest

from trainboard.server.api.metric_parse import BatchError, parse_batch


def body(doc: object) -> bytes:
    return json.dumps(doc).encode()


def test_batch_with_tokens_parses_to_floats() -> None:
    stream, points, _ = parse_batch(
        body(
            {
                "stream": "s1",
                "points": [
                    {
                        "seq": 1,
                        "step": 3,
                        "timestamp": 1_700_000_010.0,
                        "metrics": {"loss": "NaN", "up": "Infinity", "lr": 1},
                    }
                ],
            }
        )
    )
    assert stream == "s1"
    seq, step, ts, values = points[0]
    assert (seq, step, ts) == (1, 3, 1_700_000_010.0)
    assert math.isnan(values["loss"]) and values["up"] == math.inf and values["lr"] == 1.0


def test_single_point_form() -> None:
    _, points, _ = parse_batch(body({"step": 100, "metrics": {"loss": 0.5}}))
    assert points[0][1] == 100 and points[0][3] == {"loss": 0.5}


@pytest.mark.parametrize(
    ("doc", "loc", "text"),
    [
        ({"points": [{"step": -1, "metrics": {"a": 1}}]}, ["body", "points", 0, "step"], "negative"),
        ({"points": [{"step": 1.5, "metrics": {"a": 1}}]}, ["body", "points", 0, "step"], "integer"),
        ({"points": [{"step": 2**60, "metrics": {"a": 1}}]}, ["body", "points", 0, "step"], "at most"),
        ({"points": [{"metrics": {"a": "high"}}]}, ["body", "points", 0, "metrics", "a"], "number"),
        ({"points": [{"metrics": {"a": None}}]}, ["body", "points", 0, "metrics", "a"], "number"),
        ({"points": [{"metrics": []}]}, ["body", "points", 0, "metrics"], "object"),
        ({"points": "x"}, ["body", "points"], "list"),
        ({"stream": "../x", "points": []}, ["body", "stream"], "characters"),
        ({"nothing": 1}, ["body", "points"], "required"),
    ],
)
def test_errors_name_the_field(doc: object, loc: list[object], text: str) -> None:
    with pytest.raises(BatchError) as info:
        parse_batch(body(doc))
    err = info.value.errors[0]
    assert err["loc"] == loc
    assert text in err["msg"]


def test_invalid_json() -> None:
    with pytest.raises(BatchError) as info:
        parse_batch(b"{not json")
    assert "invalid JSON" in info.value.errors[0]["msg"]
