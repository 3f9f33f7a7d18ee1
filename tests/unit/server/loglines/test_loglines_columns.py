"""LineSplitter(columns=N) against pyte screens N columns wide; snapshot/restore gives the same lines."""

from __future__ import annotations

import io
import json

import pyte
import pytest
import tqdm
from hypothesis import given, settings
from hypothesis import strategies as st

from trainboard.server.loglines import LineSplitter


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def screen_rows(data: bytes, columns: int) -> list[str]:
    """A pyte screen `columns` wide (`\\n` as CR+LF, like a pty): rows down to the cursor or last text."""
    screen = pyte.Screen(columns, 400)
    screen.set_mode(pyte.modes.LNM)
    pyte.ByteStream(screen).feed(data)
    rows = [row.rstrip() for row in screen.display]
    end = max([screen.cursor.y] + [i + 1 for i, row in enumerate(rows) if row])
    return rows[:end]


def split(data: bytes, *, columns: int | None, chunk: int | None = None, min_reach: int = 1) -> list[str]:
    """The splitter's lines, each cut into `columns`-wide rows as the screen shows them."""
    splitter = LineSplitter(columns=columns, min_reach=min_reach)
    step = chunk or len(data)
    out = []
    for start in range(0, len(data), step):
        out += splitter.feed(data[start : start + step], 1.0)
    return [row for line in out + splitter.flush() for row in rewrap(line.text, columns)]


def rewrap(text: str, columns: int | None) -> list[str]:
    if columns is None or len(text) <= columns:
        return [text]
    return [text[i : i + columns].rstrip() for i in range(0, len(text), columns)]


def nested_bars(ncols: int) -> bytes:
    """Two tqdm bars (an outer one and an inner one at position 1) `ncols` wide."""
    out = FakeTTY()
    for _ in tqdm.tqdm(range(3), file=out, ncols=ncols, mininterval=0, desc="outer", position=0):
        for _ in tqdm.tqdm(range(4), file=out, ncols=ncols, mininterval=0, desc="inner", position=1, leave=True):
            pass
    return out.getvalue().encode()


@pytest.mark.parametrize("columns", [30, 45])
def test_nested_bars_wider_than_the_terminal_match_the_screen(columns: int) -> None:
    data = nested_bars(60)  # bars of 60 columns on a 30/45-column terminal: each wraps onto a second row
    expected = screen_rows(data, columns)
    assert split(data, columns=columns, min_reach=10) == expected
    assert split(data, columns=columns, min_reach=10, chunk=7) == expected
    # without the width the cursor-ups land on other rows: this is what `columns` fixes
    assert split(data, columns=None, min_reach=10) != expected


SCRIPTS = [
    b"0123456789abcdefghij0123456789\nshort\n",  # wraps once at 20
    b"0123456789abcdefghij\rX\n",  # exactly the width: `\r` stays on the row (deferred wrap)
    b"0123456789abcdefghij\nnext\n",  # exactly the width, then a newline: no blank row between
    b"0123456789abcdefghijKLMNOP\x1b[AUP\n\n",  # cursor-up from the wrapped part lands on the first row
    b"a\tb\tc\td\te\n\tx\n",  # tab stops every 8 columns
    b"\x1b[31m" + b"r" * 25 + b"\x1b[0m\nplain\n",
    b"abc\x1b[50Cz\n",  # a cursor-right stops at the last column
    b"12345\x1b[40GX\n",
    b"x" * 45 + b"\r\x1b[K" + b"y" * 3 + b"\n",
]


@pytest.mark.parametrize("data", SCRIPTS)
def test_scripts_match_a_20_column_screen(data: bytes) -> None:
    expected = screen_rows(data, 20)
    assert split(data, columns=20, min_reach=10) == expected
    assert split(data, columns=20, min_reach=10, chunk=1) == expected


def test_default_width_is_unlimited_as_before() -> None:
    data = b"x" * 300 + b"\n" + b"a\tb\n"
    assert split(data, columns=None) == ["x" * 300, "a\tb"]


def test_a_line_that_wrapped_is_one_line() -> None:
    splitter = LineSplitter(columns=4)
    lines = splitter.feed(b"abcdefghij\nab  \x1b[K\n\x1b[31mred and long\x1b[0m\n", 0.0) + splitter.flush()
    assert [(line.text, line.wrapped) for line in lines] == [
        ("abcdefghij", False),
        ("ab", False),
        ("red and long", False),
    ]
    assert lines[2].display.startswith("\x1b[31m") and lines[2].display.endswith("\x1b[0m")


def test_lines_wrapped_beyond_max_columns_are_cut_there() -> None:
    splitter = LineSplitter(columns=10, max_columns=30)
    lines = splitter.feed(b"x" * 75 + b"\n", 0.0) + splitter.flush()
    assert all(len(line.text) <= 30 for line in lines) and "".join(line.text for line in lines) == "x" * 75
    assert [line.wrapped for line in lines][-1] is False


def test_resize_applies_from_the_next_byte() -> None:
    splitter = LineSplitter(columns=4)
    lines = splitter.feed(b"abcdef\n", 0.0)
    splitter.resize(8)
    lines += splitter.feed(b"abcdefghij\n", 0.0)
    splitter.resize(None)
    lines += splitter.feed(b"x" * 20 + b"\n", 0.0) + splitter.flush()
    assert [line.text for line in lines] == ["abcdef", "abcdefghij", "x" * 20]


def test_bad_columns_are_refused() -> None:
    with pytest.raises(ValueError, match="columns"):
        LineSplitter(columns=0)
    with pytest.raises(ValueError, match="columns"):
        LineSplitter().resize(-1)


STREAMS = [
    *SCRIPTS,
    nested_bars(60),
    "é✓ \x1b[1;31mERROR\x1b[0m: x\nTraceback (most recent call last):\n  File 'x', line 1\nKeyError: 1\n".encode(),
    b"\x1b7first\nsecond\n\x1b8F\n\x1b]0;title\x07done\r\n",
    b"/a/b.py:3: UserWarning: w\n  warnings.warn('w')\nafter\n",
]


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(STREAMS),
    st.lists(st.integers(0, 400), max_size=6),
    st.sampled_from([None, 20, 45]),
)
def test_snapshot_and_restore_at_any_cut_give_the_same_lines(data: bytes, cuts: list[int], columns: int | None) -> None:
    """Cut the bytes anywhere (inside a UTF-8 character, an escape sequence, a traceback), persist the
    state through JSON at each cut and go on with a restored splitter: the lines are the same."""
    reference = LineSplitter(columns=columns)
    want = reference.feed(data, 1.0) + reference.flush()
    splitter = LineSplitter(columns=columns)
    got = []
    last = 0
    for cut in [*sorted({min(c, len(data)) for c in cuts}), len(data)]:
        got += splitter.feed(data[last:cut], 1.0)
        last = cut
        snap = json.loads(json.dumps(splitter.snapshot()))
        splitter = LineSplitter.restore(snap)
        assert splitter.pending() == LineSplitter.restore(snap).pending()
    got += splitter.flush()
    assert got == want


def test_restore_refuses_another_version() -> None:
    snap = LineSplitter().snapshot()
    snap["v"] = 999
    with pytest.raises(ValueError, match="version"):
        LineSplitter.restore(snap)
