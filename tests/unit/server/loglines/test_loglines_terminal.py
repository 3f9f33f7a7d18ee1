"""LineSplitter: terminal semantics, chunk independence, colours, levels, bounded lines."""

from __future__ import annotations

import random
import time
import traceback

import pytest

from trainboard.server.loglines import Level, Line, LineSplitter


def split(data: bytes, *, chunk: int | None = None, timestamp: float = 1.0, **kwargs: int) -> list[Line]:
    """Every line of `data`, fed in chunks of `chunk` bytes (all at once when None), then flushed."""
    splitter = LineSplitter(**kwargs)
    step = chunk or max(len(data), 1)
    lines: list[Line] = []
    for start in range(0, len(data), step):
        lines += splitter.feed(data[start : start + step], timestamp)
    return lines + splitter.flush()


def texts(data: bytes, **kwargs: int) -> list[str]:
    return [line.text for line in split(data, **kwargs)]


def tqdm_bytes(total: int, *, newline: bytes = b"\n") -> bytes:
    """What tqdm writes for a bar of `total` updates: `\\r` + bar per redraw, a newline at close."""
    parts = []
    for i in range(total + 1):
        pct = 100 * i // total
        bar = "█" * (pct // 10) + " " * (10 - pct // 10)
        parts.append(f"\r{pct:3d}%|{bar}| {i}/{total} [00:0{i % 10}<00:00, 1234.{i % 100:02d}it/s]")
    return "".join(parts).encode() + newline


# -- carriage return, newline, overwrite ------------------------------------------------------------


@pytest.mark.parametrize("newline", [b"\n", b"\r\n"])
def test_tqdm_loop_of_5000_updates_is_one_line_with_the_final_state(newline: bytes) -> None:
    data = tqdm_bytes(5000, newline=newline) + b"done\n"
    lines = split(data)
    assert [line.text for line in lines] == [
        "100%|██████████| 5000/5000 [00:00<00:00, 1234.00it/s]",
        "done",
    ]
    assert [line.level for line in lines] == [Level.INFO, Level.INFO]


def test_print_lines_and_pty_newlines_are_the_same() -> None:
    assert texts(b"a\nb\n\nc\n") == ["a", "b", "", "c"]
    assert texts(b"a\r\nb\r\n\r\nc\r\n") == ["a", "b", "", "c"]
    assert texts(b"no newline at the end") == ["no newline at the end"]
    assert texts(b"") == []
    assert texts(b"\n") == [""]


def test_overwrite_keeps_the_tail_of_a_longer_line() -> None:
    assert texts(b"hello world\rHELLO\n") == ["HELLO world"]
    assert texts(b"abc\bX\n") == ["abX"]
    assert texts(b"\b\bab\n") == ["ab"]
    assert texts(b"tab\tkept\n") == ["tab\tkept"]


def test_erase_in_line() -> None:
    assert texts(b"hello world\r\x1b[Knew\n") == ["new"]
    assert texts(b"hello world\x1b[6D\x1b[K!\n") == ["hello!"]
    assert texts(b"hello world\x1b[2Kx\n") == ["           x"]
    assert texts(b"hello world\x1b[6D\x1b[1K\n") == ["      world"]
    assert texts(b"hello world\r\x1b[3X\n") == ["   lo world"]


def test_column_moves() -> None:
    assert texts(b"abcdef\x1b[3GX\n") == ["abXdef"]
    assert texts(b"abcdef\x1b[GX\n") == ["Xbcdef"]
    assert texts(b"ab\x1b[3CX\n") == ["ab   X"]
    assert texts(b"abcdef\x1b[2;2HX\n") == ["aXcdef"]
    assert texts(b"abcdef\x1b[HX\n") == ["Xbcdef"]


def test_cursor_up_and_down_resolve_to_the_final_rows() -> None:
    data = b"one\ntwo\nthree\n\x1b[2AFOUR\x1b[1B\rFIVE\x1b[2A\x1b[1B\x1b[10GX\n"
    # After "three\n" the cursor is on row 3; up 2 -> row 1 ("two" -> "FOUR"), down 1 -> row 2
    # ("three" -> "FIVEe"), up 2 -> row 0, down 1 -> row 1, column 10, newline -> row 2.
    assert texts(data, min_reach=3) == ["one", "FOUR     X", "FIVEe"]
    assert texts(b"a\nb\n\x1bMX\n\x1b[2FY\x1b[1EZ\n", min_reach=3) == ["Y", "Z"]
    # Cursor-down never goes below the lowest row written (the bottom of the screen).
    assert texts(b"a\nb\x1b[A\x1b[5Bc\n", min_reach=3) == ["a", "bc"]


def test_save_and_restore_cursor() -> None:
    assert texts(b"\x1b7first\nsecond\n\x1b8F\n", min_reach=3) == ["First", "second"]
    assert texts(b"ab\x1b[s\ncd\x1b[uX\n") == ["abX", "cd"]


def test_erase_in_display() -> None:
    assert texts(b"one\ntwo\nthree\x1b[2A\x1b[J\n", min_reach=3) == ["one"]
    assert texts(b"one\ntwo\nthree\x1b[A\x1b[2G\x1b[1J\n", min_reach=3) == ["", "  o", "three"]
    assert texts(b"one\ntwo\x1b[A\x1b[2J\nx\n") == ["", "x"]


def test_unknown_and_private_sequences_are_dropped() -> None:
    data = (
        b"\x1b[?25l\x1b]0;title\x07\x1b]8;;https://example.com\x1b\\link\x1b]8;;\x1b\\"
        b"\x1b(B\x1b=\x1bPq#0\x1b\\ text\x07\x00\x1b[>4;2m end\x1b[?25h\n"
    )
    lines = split(data)
    assert [(line.text, line.display) for line in lines] == [("link text end", "link text end")]


def test_malformed_escape_is_dropped_and_text_continues() -> None:
    assert texts(b"a\x1b\x01b\n") == ["ab"]
    long_osc = b"\x1b]" + b"x" * 10_000
    lines = texts(long_osc + b"\nafter\n", chunk=1000)
    assert lines[-1] == "after"
    assert "x" * 100 in lines[0]


# -- when lines become final -----------------------------------------------------------------------


def test_plain_lines_are_final_one_line_late_and_flush_returns_the_rest() -> None:
    splitter = LineSplitter()
    assert splitter.feed(b"first\n", 1.0) == []
    assert [line.text for line in splitter.feed(b"second\n", 2.0)] == ["first"]
    assert splitter.feed(b"third", 3.0) == []
    assert [line.text for line in splitter.pending()] == ["second", "third"]
    assert [line.text for line in splitter.pending()] == ["second", "third"]
    assert [line.text for line in splitter.flush()] == ["second", "third"]
    assert splitter.flush() == []
    assert [line.text for line in splitter.feed(b"x\n", 4.0) + splitter.flush()] == ["x"]


def test_min_reach_zero_returns_each_line_at_its_newline() -> None:
    splitter = LineSplitter(min_reach=0)
    assert [line.text for line in splitter.feed(b"a\nb\n", 1.0)] == ["a", "b"]
    assert splitter.flush() == []


def test_reach_grows_with_the_deepest_cursor_up() -> None:
    splitter = LineSplitter()
    assert splitter.reach == 1
    splitter.feed(b"\n\n\n\x1b[A\x1b[2A", 1.0)  # consecutive ups add up
    assert splitter.reach == 3
    assert splitter.feed(b"a\nb\nc\n", 2.0) == []
    assert [line.text for line in splitter.feed(b"d\n", 3.0)] == ["a"]
    assert [line.text for line in splitter.flush()] == ["b", "c", "d"]


def test_cursor_up_past_flushed_lines_finds_fresh_rows() -> None:
    splitter = LineSplitter()
    first = splitter.feed(b"bar 10%\n", 1.0) + splitter.flush()
    later = splitter.feed(b"\x1b[A\rbar 20%\n", 2.0) + splitter.flush()
    assert [line.text for line in first + later] == ["bar 10%", "bar 20%"]


def test_pending_leaves_traceback_state_alone() -> None:
    data = b'Traceback (most recent call last):\n  File "x.py", line 1\nValueError: x\n\nok\n'
    plain = LineSplitter()
    expected = plain.feed(data, 1.0) + plain.flush()
    splitter = LineSplitter()
    got: list[Line] = []
    for byte in data:
        got += splitter.feed(bytes([byte]), 1.0)
        splitter.pending()
    assert got + splitter.flush() == expected
    assert [line.level for line in expected] == [Level.ERROR] * 4 + [Level.INFO]


def test_empty_line_timestamp_is_its_newline() -> None:
    splitter = LineSplitter(min_reach=0)
    assert [line.timestamp for line in splitter.feed(b"\n", 5.0) + splitter.feed(b"\n\n", 6.0)] == [
        5.0,
        6.0,
        6.0,
    ]
    slow = LineSplitter(min_reach=0)
    assert [line.timestamp for line in slow.feed(b"\r\n", 5.0) + slow.feed(b"\x1b[m\n", 6.0)] == [5.0, 6.0]


def test_endless_cursor_up_stays_bounded() -> None:
    splitter = LineSplitter(max_reach=50)
    for i in range(10_000):
        assert splitter.feed(b"\x1b[A\x1b[3A\rline %d" % i, 1.0) == []
    assert splitter.reach == 50
    pending = splitter.pending()
    assert len(pending) <= 51
    assert pending[0].text == "line 9999"
    assert len(splitter.feed(b"\n" * 200, 2.0)) == 150


def test_timestamp_is_when_the_line_last_changed() -> None:
    splitter = LineSplitter(min_reach=0)
    splitter.feed(b"progress 1", 10.0)
    splitter.feed(b"\rprogress 2", 20.0)
    lines = splitter.feed(b"\n\n", 30.0)
    assert [(line.text, line.timestamp) for line in lines] == [("progress 2", 20.0), ("", 30.0)]


# -- colours ----------------------------------------------------------------------------------------


def test_coloured_error_line_keeps_colours_for_display_only() -> None:
    data = b"\x1b[1;31mERROR\x1b[0m \x1b[2m12:00:00\x1b[0m loss is nan\n"
    (line,) = split(data)
    assert line.text == "ERROR 12:00:00 loss is nan"
    assert line.display == data[:-1].decode()
    assert line.level == Level.ERROR


def test_colour_carries_over_lines_and_display_is_self_contained() -> None:
    lines = split(b"\x1b[31mred\nstill red\x1b[0m plain\n\x1b[32mgreen")
    assert [line.display for line in lines] == [
        "\x1b[31mred\x1b[0m",
        "\x1b[31mstill red\x1b[0m plain",
        "\x1b[32mgreen\x1b[0m",
    ]


def test_colours_after_overwrite() -> None:
    lines = split(b"\x1b[31mabcdef\x1b[0m\r\x1b[32mXY\x1b[0m\x1b[2CZ\n")
    assert lines[0].text == "XYcdZf"
    assert lines[0].display == "\x1b[32mXY\x1b[0m\x1b[31mcd\x1b[0mZ\x1b[31mf\x1b[0m"
    assert split(b"\x1b[1m\x1b[31mbold red\x1b[39m dflt\x1b[m\n")[0].display == (
        "\x1b[1m\x1b[31mbold red\x1b[0m\x1b[1m\x1b[31m\x1b[39m dflt\x1b[0m"
    )


# -- levels through the splitter ----------------------------------------------------------------------


def test_traceback_lines_are_all_error() -> None:
    try:
        raise ValueError("bad shape")
    except ValueError:
        tb = traceback.format_exc()
    data = ("step 1\n" + tb + "step 2\n").encode()
    lines = split(data)
    assert lines[0].level == Level.INFO
    assert lines[-1].level == Level.INFO
    body = lines[1:-1]
    assert body[0].text == "Traceback (most recent call last):"
    assert body[-1].text == "ValueError: bad shape"
    assert {line.level for line in body} == {Level.ERROR}


def test_stderr_style_progress_is_info() -> None:
    assert {line.level for line in split(tqdm_bytes(10))} == {Level.INFO}


# -- chunking and decoding ------------------------------------------------------------------------------


def corpus() -> bytes:
    try:
        raise KeyError("k")
    except KeyError:
        tb = traceback.format_exc()
    return b"".join(
        [
            b"plain line\n",
            "ünïcödé ✓ 日本語 🚀\n".encode(),
            tqdm_bytes(30, newline=b"\r\n"),
            b"\x1b[32mINFO\x1b[0m coloured \x1b[1;31mERROR\x1b[0m\r\n",
            b"outer 0%\n\rinner 0%\x1b[A\rfirst 1%\n\rinner 50%\x1b[A\n\r  \x1b[A\router 100%\n",
            b"\x1b]0;title\x07osc\x1b[?25l hidden cursor\x1b[?25h\n",
            b"back\b\bspace\x1b[K\n",
            tb.encode(),
            b"\xff\xfe invalid bytes \xe2\x82 cut\n",
            b"\x1b[3A\x1b[2K\x1b[1B\x1b[5Gmoved\x1b7\n\n\x1b8saved",
            b"trailing text without newline",
        ]
    )


def test_chunk_boundaries_do_not_matter() -> None:
    data = corpus()
    whole = split(data)
    assert len(whole) > 12
    assert split(data, chunk=1) == whole
    rng = random.Random(4)
    for _ in range(20):
        splitter = LineSplitter()
        lines: list[Line] = []
        pos = 0
        while pos < len(data):
            step = rng.randint(1, 40)
            lines += splitter.feed(data[pos : pos + step], 1.0)
            pos += step
        assert lines + splitter.flush() == whole


def test_colour_fast_path_equals_the_general_path() -> None:
    # Whole lines take the fast path; byte by byte never does. Every SGR form and carried state.
    data = b"".join(
        [
            b"\x1b[31mred\x1b[m plain\n",
            b"\x1b[1m\x1b[32mbold green\x1b[0;4munder\x1b[00m x\n",
            b"\x1b[34mcarried\ninto next\x1b[0m\n",
            b"\x1b[41mbackground   \x1b[0m   \n",
            b"\x1b[35m\x1b[36m\x1b[0m\n",
            b"a\x1b[33m\x1b[0mb\x1b[33mc\x1b[33md\n",
            b"".join(b"\x1b[3%dm%d" % (i % 8, i) for i in range(60)) + b"\x1b[0m\r\n",
            b"\ttab \x1b[7mreverse\x1b[27m back\n",
        ]
    )
    whole = split(data)
    assert split(data, chunk=1) == whole
    assert [line.text for line in whole[:3]] == ["red plain", "bold greenunder x", "carried"]
    assert whole[1].display == "\x1b[1m\x1b[32mbold green\x1b[0m\x1b[0;4munder\x1b[0m x"
    assert whole[3].display == "\x1b[34minto next\x1b[0m"
    assert whole[5].text == "" and whole[6].text == "abcd"


def test_split_utf8_characters_decode() -> None:
    splitter = LineSplitter(min_reach=0)
    euro = "€".encode()
    assert splitter.feed(b"price " + euro[:1], 1.0) == []
    assert splitter.feed(euro[1:2], 1.0) == []
    lines = splitter.feed(euro[2:] + b" 5\n", 1.0)
    assert [line.text for line in lines] == ["price € 5"]
    splitter.feed(euro[:2], 2.0)
    assert [line.text for line in splitter.flush()] == ["\ufffd"]
    assert texts(b"bad \xff byte\n") == ["bad \ufffd byte"]


def test_escape_split_across_chunks() -> None:
    data = b"\x1b[31mred\x1b[0m plain\n"
    for cut in range(1, len(data)):
        splitter = LineSplitter()
        lines = splitter.feed(data[:cut], 1.0) + splitter.feed(data[cut:], 1.0) + splitter.flush()
        assert [(line.text, line.display) for line in lines] == [("red plain", "\x1b[31mred\x1b[0m plain")]


# -- bounded lines ---------------------------------------------------------------------------------------


def test_a_20mb_line_without_newline_wraps_at_max_columns() -> None:
    piece = b"0123456789abcdef" * 4096  # 64 KiB
    data_len = 20 * 1024 * 1024
    splitter = LineSplitter()
    started = time.perf_counter()
    lines: list[Line] = []
    for _ in range(data_len // len(piece)):
        lines += splitter.feed(piece, 1.0)
    lines += splitter.flush()
    assert time.perf_counter() - started < 10
    assert len(lines) == data_len // 65536
    assert all(len(line.text) == 65536 for line in lines)
    assert [line.wrapped for line in lines] == [True] * (len(lines) - 1) + [False]
    assert lines[0].text[:16] == "0123456789abcdef"


def test_max_columns_wraps_like_a_terminal() -> None:
    assert texts(b"abcdefgh\n", max_columns=3) == ["abc", "def", "gh"]
    lines = split(b"abcdef\rX\n", max_columns=3)
    assert [(line.text, line.wrapped) for line in lines] == [("abc", True), ("Xef", False)]


def test_constructor_checks_arguments() -> None:
    with pytest.raises(ValueError):
        LineSplitter(min_reach=5, max_reach=2)
    with pytest.raises(ValueError):
        LineSplitter(max_columns=0)
