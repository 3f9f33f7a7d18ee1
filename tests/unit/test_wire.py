import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trainboard.wire import (
    MAX_JSON_DEPTH,
    MAX_STEP,
    TOO_DEEP_MARKER,
    check_key,
    check_step,
    check_text,
    clean_json,
    decode_float,
    encode_float,
    repair_json,
    safe_text,
)


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


# -- JSON documents: clean_json refuses what cannot be served, repair_json makes anything servable ----------


#: Text including lone surrogates (what ``surrogateescape`` makes of a non-UTF-8 file name).
_any_text = st.text(alphabet=st.characters(codec=None, exclude_categories=[]), max_size=8)
_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | _any_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_any_text, inner, max_size=3),
    max_leaves=40,
)


def _servable(value: object) -> bool:
    try:
        json.dumps(value, ensure_ascii=False, allow_nan=False).encode()
    except (ValueError, UnicodeEncodeError):
        return False
    return True


def _depth(value: object) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


@given(_json_values)
def test_repair_always_gives_a_servable_document(value: object) -> None:
    repaired = repair_json(value)
    assert _servable(repaired)
    assert _depth(repaired) <= MAX_JSON_DEPTH
    assert repair_json(repaired) == repaired  # repairing twice changes nothing


@given(_json_values)
def test_clean_refuses_or_gives_a_servable_document(value: object) -> None:
    try:
        cleaned = clean_json(value)
    except ValueError as exc:
        assert str(exc)  # says what is wrong
        assert not _servable(value) or _depth(value) > MAX_JSON_DEPTH
    else:
        assert _servable(cleaned)
        assert cleaned == repair_json(value)  # nothing to repair but the non-finite tokens


def test_clean_names_the_path_of_the_problem() -> None:
    with pytest.raises(ValueError, match=r"model\.layers\[1\] is not valid Unicode"):
        clean_json({"model": {"layers": ["ok", "bad\udc80"]}})
    deep: dict[str, object] = {}
    cur = deep
    for _ in range(MAX_JSON_DEPTH + 1):
        cur["x"] = {}
        cur = cur["x"]  # type: ignore[assignment]
    with pytest.raises(ValueError, match=f"deeper than {MAX_JSON_DEPTH}"):
        clean_json(deep)
    assert TOO_DEEP_MARKER in json.dumps(repair_json(deep))
    with pytest.raises(ValueError, match="limit is 10 bytes"):
        clean_json({"a": "0123456789"}, max_bytes=10)


def test_non_finite_numbers_become_their_tokens() -> None:
    assert clean_json({"a": [math.nan, math.inf, -math.inf, 1.5]}) == {"a": ["NaN", "Infinity", "-Infinity", 1.5]}


def test_text_rules() -> None:
    assert check_text("plain ✓ 😀") is None
    assert "lone surrogate" in (check_text("a\udcff") or "")
    assert safe_text("a\udcffb\ud800") == "a\ufffdb\ufffd"
    assert check_key("loss\udc00") is not None
