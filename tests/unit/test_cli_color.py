"""``--color``: SGR sequences removed from raw bytes however the stream is cut, and nothing else touched."""

from __future__ import annotations

import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trainboard.cli_color import ColorMode, SgrStripper, use_color

SGR = st.sampled_from([b"\x1b[0m", b"\x1b[31m", b"\x1b[1;32m", b"\x1b[38;5;208m", b"\x1b[38:2:1:2:3m", b"\x1b[m"])
KEPT = st.sampled_from([b"\r", b"\n", b"\x1b[2K", b"\x1b[A", b"\x1b[?25l", b"\x1b]0;title\x07"])
TEXT = st.binary(max_size=20).filter(lambda b: b"\x1b" not in b)


@given(st.lists(st.one_of(SGR, KEPT, TEXT), max_size=30), st.lists(st.integers(0, 400), max_size=8))
def test_stripping_does_not_depend_on_where_the_stream_is_cut(parts: list[bytes], cuts: list[int]) -> None:
    data = b"".join(parts)
    expected = b"".join(p for p in parts if not (p.startswith(b"\x1b[") and p.endswith(b"m")))
    stripper = SgrStripper()
    out = b""
    start = 0
    for cut in sorted(c for c in cuts if c <= len(data)):
        out += stripper.feed(data[start:cut])
        start = cut
    out += stripper.feed(data[start:]) + stripper.flush()
    assert out == expected


def test_an_unfinished_sequence_is_held_until_it_completes() -> None:
    stripper = SgrStripper()
    assert stripper.feed(b"loss \x1b[3") == b"loss "
    assert stripper.feed(b"1mNaN\x1b[0m\r\n") == b"NaN\r\n"
    assert stripper.feed(b"end \x1b") == b"end "
    assert stripper.flush() == b"\x1b"  # never finished: not colour, kept


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_auto_means_a_terminal_without_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert use_color(ColorMode.AUTO, Tty()) and not use_color(ColorMode.AUTO, io.StringIO())
    assert use_color(ColorMode.ALWAYS, io.StringIO()) and not use_color(ColorMode.NEVER, Tty())
    monkeypatch.setenv("NO_COLOR", "1")
    assert not use_color(ColorMode.AUTO, Tty()) and use_color(ColorMode.ALWAYS, Tty())
