"""LineSplitter against real tqdm output and against pyte (a terminal emulator) as the reference."""

from __future__ import annotations

import io

import pyte
import pytest
import tqdm

from trainboard.server.loglines import Level, LineSplitter


class FakeTTY(io.StringIO):
    """A text file that says it is a terminal, so tqdm draws as it does on one."""

    def isatty(self) -> bool:
        return True


def terminal_rows(data: bytes) -> list[str]:
    """What a terminal (pyte, with `\\n` as CR+LF like a pty) shows: rows down to the cursor or last text."""
    screen = pyte.Screen(300, 300)
    screen.set_mode(pyte.modes.LNM)
    pyte.ByteStream(screen).feed(data)
    rows = [row.rstrip() for row in screen.display]
    end = max([screen.cursor.y] + [i + 1 for i, row in enumerate(rows) if row])
    return rows[:end]


def split_texts(data: bytes, *, chunk: int | None = None, min_reach: int = 1) -> list[str]:
    splitter = LineSplitter(min_reach=min_reach)
    step = chunk or len(data)
    lines = []
    for start in range(0, len(data), step):
        lines += splitter.feed(data[start : start + step], 1.0)
    return [line.text for line in lines + splitter.flush()]


def bar(**kwargs: object) -> tqdm.tqdm:
    return tqdm.tqdm(mininterval=0, miniters=1, ascii=True, **kwargs)


def test_real_tqdm_5000_updates_is_one_line() -> None:
    out = FakeTTY()
    for _ in bar(iterable=range(5000), file=out):
        pass
    data = out.getvalue().encode()
    assert data.count(b"\r") > 5000
    lines = LineSplitter()
    result = lines.feed(data, 1.0) + lines.flush()
    assert len(result) == 1
    assert result[0].text.startswith("100%|##########| 5000/5000 [")
    assert result[0].level == Level.INFO


def test_two_nested_bars_give_their_two_final_lines() -> None:
    out = FakeTTY()
    outer = bar(total=100, position=0, desc="outer", file=out)
    inner = bar(total=50, position=1, desc="inner", file=out)
    for _ in range(100):
        inner.reset()
        for _ in range(50):
            inner.update()
        outer.update()
    inner.close()
    outer.close()
    data = out.getvalue().encode()
    assert data.count(b"\x1b[A") > 5000
    texts = split_texts(data)
    assert texts == terminal_rows(data)
    assert len(texts) == 2
    assert sorted(text.split(":")[0] for text in texts) == ["inner", "outer"]
    assert any("50/50" in text for text in texts)
    assert any("100/100" in text for text in texts)
    assert split_texts(data, chunk=7) == texts


@pytest.mark.parametrize("leave", [True, False])
def test_nested_loops_match_the_terminal(leave: bool) -> None:
    out = FakeTTY()
    for _ in bar(iterable=range(20), position=0, desc="epoch", file=out):
        for _ in bar(iterable=range(30), position=1, desc="batch", leave=leave, file=out):
            pass
    data = out.getvalue().encode()
    texts = split_texts(data)
    assert texts == terminal_rows(data)
    # leave=True: tqdm itself leaves each finished inner bar on the screen; leave=False erases it.
    assert len(texts) == (21 if leave else 1)


def test_three_bars_at_most_one_stale_line() -> None:
    out = FakeTTY()
    bars = [bar(total=40, position=k, desc=f"bar{k}", file=out) for k in range(3)]
    for _ in range(40):
        for b in bars:
            b.update()
    for b in bars:
        b.close()
    data = out.getvalue().encode()
    expected = terminal_rows(data)
    assert len(expected) == 3
    assert split_texts(data, min_reach=2) == expected
    texts = split_texts(data)
    assert texts[-3:] == expected
    assert len(texts) <= 4


SCRIPTS = [
    b"one\ntwo\nthree\n\x1b[2AFOUR\x1b[1B\rFIVE\x1b[2A\x1b[1B\x1b[10GX\n",
    b"a\nb\n\x1bMX\n\x1b[2FY\x1b[1EZ\n",
    b"hello world\rHELLO\nabc\bX\n",
    b"hello world\x1b[6D\x1b[K!\nhello world\x1b[6D\x1b[1K\nhello world\x1b[2Kx\n",
    b"abcdef\x1b[3GX\nab\x1b[3CX\n",
    b"\x1b7first\nsecond\n\x1b8F\n",
    b"one\ntwo\nthree\x1b[2A\x1b[J\n",
    b"one\ntwo\nthree\x1b[A\x1b[2G\x1b[1J\n",
    b"\x1b[31mred\x1b[0m \x1b[1;32mgreen\x1b[0m\r\n\r\n",
    b"l1\nl2\nl3\n\x1b[3A\x1b[2Kn1\n\x1b[2Kn2\n\x1b[2Kn3\n",  # rich-style live redraw
    b"spinner |\b/\b-\b\\\b done\n",
]


@pytest.mark.parametrize("data", SCRIPTS)
def test_scripted_streams_match_the_terminal(data: bytes) -> None:
    assert split_texts(data, min_reach=10) == terminal_rows(data)
    assert split_texts(data, min_reach=10, chunk=1) == terminal_rows(data)
