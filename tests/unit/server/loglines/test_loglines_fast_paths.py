"""LineSplitter's fast paths (whole simple lines, runs of `\\r` redraws, chunks of redraws checked on their
bytes) give exactly the lines of feeding byte by byte, where each byte takes the general path; the levels of many
lines at once are those of one line at a time."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from trainboard.server.loglines import LEVEL_RULES, LevelDetector, Line, LineSplitter

PIECES = [
    b"\r",
    b"\r",
    b"\r\n",
    b"\n",
    b"ab",
    b"0123456789" * 3,
    b"  ",
    b"\t",
    b"\b",
    "█▉é".encode(),
    b"\xc2\x85",  # NEL, a C1 control
    b"\xc2",
    b"\x85",
    b"\xff",
    b"\x1b[31m",
    b"\x1b[0m",
    b"\x1b[A",
    b"\x1b[2K",
    b"\x1b[3G",
    b"\x1b7",
    b"\x1b8",
    b"\x1b]0;t\x07",
    b"\x1b[",
]


def lines(data: bytes, cuts: list[int], **kwargs: int) -> tuple[list[Line], list[Line], str]:
    """The lines of `data` fed in pieces cut at `cuts`, the lines pending before the flush, and the state."""
    splitter = LineSplitter(**kwargs)
    out: list[Line] = []
    last = 0
    for cut in [*sorted({min(c, len(data)) for c in cuts}), len(data)]:
        out += splitter.feed(data[last:cut], 1.0)
        last = cut
    pending = splitter.pending()
    state = json.dumps(splitter.snapshot())
    return out + splitter.flush(), pending, state


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from(PIECES), max_size=40).map(b"".join),
    st.lists(st.integers(0, 300), max_size=5),
    st.sampled_from([{}, {"columns": 8}, {"columns": 25}, {"max_columns": 6}, {"min_reach": 0}]),
)
def test_any_chunking_equals_byte_by_byte(data: bytes, cuts: list[int], kwargs: dict[str, int]) -> None:
    assert lines(data, cuts, **kwargs) == lines(data, list(range(len(data))), **kwargs)


CYCLE_PIECES = [b"\n\r", b"\x1b[A\r", b"inner 3/5", b"outer 10%", b"x" * 12, b"\n", b"\r", b"\x1b[A", b"\t", b"done\n"]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from(CYCLE_PIECES), max_size=40).map(b"".join),
    st.lists(st.integers(0, 300), max_size=3),
    st.sampled_from([{}, {"columns": 10}, {"max_columns": 8}, {"min_reach": 2}, {"max_reach": 1}]),
)
def test_nested_bar_cycles_equal_byte_by_byte(data: bytes, cuts: list[int], kwargs: dict[str, int]) -> None:
    cycles = b"outer\r" + b"".join(b"\n\rinner %d\x1b[A\router %d" % (i, i) for i in range(20)) + data
    assert lines(cycles, cuts, **kwargs) == lines(cycles, list(range(len(cycles))), **kwargs)


def test_redraws_of_different_lengths_keep_what_a_longer_one_left() -> None:
    data = b"\rlong redraw text\rshort\rmedium one\r" + b"\rx" * 1000
    splitter = LineSplitter()
    assert splitter.feed(data, 1.0) == []
    assert [line.text for line in splitter.flush()] == ["xedium onew text"]


TEXTS = [
    "plain",
    "",
    "  indented",
    "Traceback (most recent call last):",
    "Exception Group Traceback (most recent call last):",
    "  + Exception Group",
    "ValueError: bad",
    "During handling of the above exception, another exception occurred:",
    "/a/b.py:3: UserWarning: w",
    "x.pyx:9: no category",
    "W1122 12:00:00.1 glog",
    "[E 2024 x]",
    "D",
    "E1",
    *(rule.example for rule in LEVEL_RULES),
]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(TEXTS), max_size=60), st.lists(st.booleans(), min_size=3, max_size=3))
def test_levels_of_many_lines_are_those_of_one_at_a_time(texts: list[str], state: list[bool]) -> None:
    one, many = LevelDetector.from_state(state), LevelDetector.from_state(state)
    assert many.levels(texts) == [one.level(text) for text in texts]
    assert many.state() == one.state()
