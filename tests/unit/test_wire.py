import json
import math

import pytest

from trainboard.wire import MAX_STEP, check_key, check_step, decode_float, encode_float


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, 0.0, -1.5, 1e308])
def test_non_finite_round_trip_through_json(value: float) -> None:
    wire = json.loads(json.dumps(encode_float(value), allow_nan=False))
    back = decode_float(wire)
    assert (math.isnan(back) and math.isnan(value)) or back == value


def test_tokens_are_the_protobuf_json_strings() -> None:
    assert [encode_float(v) for v in (math.nan, math.inf, -math.inf)] == ["NaN", "Infinity", "-Infinity"]


@pytest.mark.parametrize("bad", ["nan", "inf", "1.0", None, [1], {}])
def test_other_values_are_rejected_with_a_reason(bad: object) -> None:
    with pytest.raises(ValueError, match="must be a number"):
        decode_float(bad)


@pytest.mark.parametrize(
    ("step", "problem"),
    [(-1, "negative"), (MAX_STEP + 1, "at most"), (1.5, "integer"), ("3", "integer"), (True, "integer")],
)
def test_step_rules(step: object, problem: str) -> None:
    why = check_step(step)
    assert why is not None and problem in why


def test_valid_steps_and_keys() -> None:
    assert check_step(0) is None and check_step(MAX_STEP) is None
    assert check_key("train/loss") is None
    assert check_key("") and check_key("a\nb") and check_key(3)
