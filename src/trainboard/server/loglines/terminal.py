"""Terminal semantics for captured output: raw bytes in, the lines a terminal finally shows out.

`LineSplitter` is an incremental state machine (one per source: stdout, stderr). It is pure: no I/O,
no clock; the caller passes each chunk's timestamp and drives `flush()`.

Model
-----
The splitter keeps a *live region*: the rows the cursor may still move back into, with the cursor in
it. Everything above the live region has been returned as final `Line`s.

* Text is written at the cursor and overwrites what is there (one column per code point; wide and
  combining characters are not measured). `\\t` is kept as a character.
* `\\r` returns to column 0; `\\n` (and VT, FF) moves to the next row *and* to column 0, so `\\r\\n`
  from a pty and a bare `\\n` from a pipe are the same newline. Backspace moves one column left.
* CSI `A` / `F` / ESC `M` move up, `B` / `E` down (never below the lowest row written), `C` / `D`
  right / left, `G` / `\\`` and the column of `H` / `f` set the column (the row of `H` / `f` is
  ignored: the screen height is unknown). `K` (0/1/2) erases in the row, `J` (0/1/2/3) in the live
  region, `X` blanks characters; ESC `7` / `8` and CSI `s` / `u` save and restore the cursor.
* SGR (`ESC[...m`) sets the style of the text written next; every other escape sequence (OSC titles and
  hyperlinks, DCS, private modes such as `ESC[?25l`, scrolling regions, insert/delete line or
  character, the row of an absolute position) is consumed and has no effect. Other C0/C1 control
  characters (BEL, NUL, ...) are dropped.
* Rows and escape sequences may be split anywhere across chunks, UTF-8 characters too (decoded with
  errors="replace"): feeding byte by byte or all at once gives the same lines.

When a line is final
--------------------
`reach` is how far the cursor has ever gone up above the lowest row visited on this source
(consecutive cursor-ups add up; at least `min_reach`, default 1; at most `max_reach`, default 100).
A row becomes final as soon as it is more than `reach` rows above the cursor: no cursor movement seen
so far could come back to it. So plain output is returned one line late (a line is final when the
newline ending the *next* line arrives), two-bar tqdm (`position=1`) resolves exactly, and a program
that later goes up further than ever before finds fresh blank rows above the live region: a stale copy
of a line already returned remains, once per new depth (three tqdm bars: one stale `0%` line of the
first bar; pass `min_reach=2` to avoid it at the price of two lines of latency).
`flush()` returns the whole live region (except blank rows below both the cursor and the last
non-blank row) and starts a fresh one at column 0; call it at the end of a run and after an idle
timeout so the last line does not wait for the next one. A cursor-up after a flush finds fresh rows, so
a bar that is still running when flushed shows up again with its later state. The live region holds at
most `max_reach + 1` rows made by cursor-ups (the cursor stops at its top, like at a screen's top).
`pending()` shows the live region without finalising it (for a live view of not-yet-final lines).

Colours
-------
Each row keeps runs of (start column, SGR state). The SGR state is the concatenation of the SGR
sequences since the last reset (capped at 128 characters; beyond it only the newest sequence is
kept). `Line.display` re-emits each run's state where it changes, a reset where it drops back to the
default, and a final reset, so each line renders on its own and a typical `ESC[31mERROR ESC[0m msg`
comes back byte-identical. Trailing blanks are stripped from `text` and `display` alike (a coloured
background on them is lost); the background colour of erased cells is not tracked.

Terminal width
--------------
`columns=None` (the default) models a terminal of unlimited width: a line is as long as what was
written on it, and `\\t` is kept as a character. With `columns=N` the splitter models a terminal N
columns wide, as pyte's `Screen(N, ...)` does: text that reaches the last column wraps onto the next
row (autowrap, deferred like a VT100's: `\\r` right after the last column stays on that row), cursor
movements stop at the last column, and `\\t` moves to the next multiple of 8 (the cells it passes stay
blank). A cursor-up then counts the rows a long line wrapped into exactly as the terminal did, so
nested tqdm bars wider than the terminal resolve like the screen. A `Line` is still a whole logical
line: the rows it wrapped into are joined (each but the last filled to the width), so cutting each line
into `columns`-wide pieces gives the screen's rows; a line longer than `max_columns` is cut there
(`wrapped=True`). `resize(columns)` changes the width from the next byte on (no reflow of what is
already on the rows, like pyte). Wide (East Asian) characters still count as one column.

Persistence
-----------
`snapshot()` returns the whole state (the live region, cursor, styles, the bytes of an unfinished
UTF-8 character or escape sequence, the level detector) as JSON-compatible data, and
`LineSplitter.restore(snapshot)` rebuilds an identical splitter: feeding the rest of the bytes to the
restored one gives exactly the lines the original would have given.

Bounded memory
--------------
A row holds at most `max_columns` (default 65,536) characters: text that would go past it wraps to
the next row like a terminal's autowrap (the cut line has `wrapped=True`), so a 20 MB line without a
newline becomes ~320 lines of 64 Ki characters, all searchable. An escape sequence longer than 4,096
characters (an unterminated OSC) is dropped byte by byte: its text shows up as plain text.
"""

from __future__ import annotations

import codecs
import re
from itertools import accumulate
from typing import Any

from trainboard.server.loglines.levels import LevelDetector
from trainboard.server.loglines.line import Line
from trainboard.server.loglines.styled_row import StyledRow, line_plan, next_style

__all__ = ["SNAPSHOT_VERSION", "LineSplitter"]

_MAX_ESCAPE = 4096

# Every control character except TAB and CR, plus DEL and the C1 range: where a run of text stops. A
# run may hold `\r`s (redraws of one row: see `_redraws`).
_CTRL = re.compile("[\x00-\x08\x0a-\x0c\x0e-\x1f\x7f-\x9f]")
_CTRL_AND_TAB = re.compile("[\x00-\x0c\x0e-\x1f\x7f-\x9f]")  # with a terminal width, TAB moves the cursor
# The bytes of text, `\r` and UTF-8 beyond ASCII (a C1 control is `\xc2` + 0x80-0x9f): a chunk of only these
# is a run of redraws (`_redraws_only`).
_PLAIN_BYTES = bytes([0x0D, *range(0x20, 0x7F), *range(0x80, 0x100)])
_PLAIN_BYTES_AND_TAB = _PLAIN_BYTES + b"\t"
_TAB_STOP = 8
#: Version of the `snapshot()` format; `restore` refuses any other.
SNAPSHOT_VERSION = 1
_RESET = "\x1b[0m"
#: A line before its level is known: (text, display, timestamp, wrapped).
_Rendered = tuple[str, str, float, bool]
_ESC = re.compile(
    r"\x1b(?:"
    r"\[(?P<params>[0-?]*)(?P<inter>[ -/]*)(?P<final>[@-~])"  # CSI
    r"|\][^\x07\x1b]*(?:\x07|\x1b\\)"  # OSC ... BEL or ST
    r"|[PX^_][^\x1b]*\x1b\\"  # DCS, SOS, PM, APC ... ST
    r"|(?P<einter>[ -/]*)(?P<efinal>[0-OQ-WYZ\\`a-~])"  # two-character and nF escapes
    r")"
)
# The fast path: whole lines of printable text and SGR sequences, each ending in `\n` or `\r\n`.
_SIMPLE_LINES = re.compile(
    "(?:[^\x00-\x08\x0a-\x1f\x7f-\x9f]*+(?:\x1b\\[[0-9;]*+m[^\x00-\x08\x0a-\x1f\x7f-\x9f]*+)*+\r?\n)++"
)
_SGR_SPLIT = re.compile(r"\x1b\[([0-9;]*)m")
# Nested progress bars redrawn in turn (`_bar_cycles`): `\n\r` text `ESC[A\r` text, again and again.
_BAR_CYCLES = re.compile("(?:\n\r[^\x00-\x08\x0a-\x1f\x7f-\x9f]*+\x1b\\[A\r[^\x00-\x08\x0a-\x1f\x7f-\x9f]*+)++")
_BAR_CYCLES_NO_TAB = re.compile("(?:\n\r[^\x00-\x1f\x7f-\x9f]*+\x1b\\[A\r[^\x00-\x1f\x7f-\x9f]*+)++")
# A prefix of a sequence that the next chunk may complete.
_ESC_PARTIAL = re.compile(r"\x1b(?:\[[0-?]*[ -/]*|\][^\x07\x1b]*\x1b?|[PX^_][^\x1b]*\x1b?|[ -/]*)\Z")


def _int(params: str, default: int) -> int:
    """The first numeric CSI parameter, `default` when absent or 0-for-default."""
    head = params.split(";", 1)[0]
    if not head.isdigit():
        return default
    value = int(head)
    return value if value else default


def _rows(data: list[Any]) -> list[StyledRow]:
    rows = []
    for text, starts, styles, timestamp, wrapped in data:
        row = StyledRow(float(timestamp))
        row.text, row.starts, row.styles, row.wrapped = str(text), list(starts), list(styles), bool(wrapped)
        rows.append(row)
    return rows


class LineSplitter:
    """Turns one source's raw terminal bytes into final lines, incrementally.

    `feed(data, timestamp)` returns the lines that became final with these bytes; `flush()` returns
    the rest (call it at run end and after an idle timeout). See the module docstring for the exact
    terminal model and when a line becomes final.
    """

    def __init__(
        self, *, min_reach: int = 1, max_reach: int = 100, max_columns: int = 65536, columns: int | None = None
    ) -> None:
        if not 0 <= min_reach <= max_reach:
            raise ValueError("need 0 <= min_reach <= max_reach")
        if max_columns < 1:
            raise ValueError("max_columns must be positive")
        if columns is not None and columns < 1:
            raise ValueError("columns must be positive (or None for unlimited)")
        self._max_reach = max_reach
        self._limit_columns = max_columns
        self._columns: int | None = None
        self._max_columns = max_columns  # the wrap column in effect: `columns` when given
        self._ctrl = _CTRL
        self.resize(columns)
        self._reach = min_reach
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._levels = LevelDetector()
        self._tail = ""
        self._now = 0.0
        self._rows: list[StyledRow] = [StyledRow(0.0)]
        self._base = 0  # absolute row number of self._rows[0]
        self._cy = 0
        self._cx = 0
        self._style = ""
        self._saved: tuple[int, int, str] | None = None
        self._out: list[Line] = []
        self._carry: list[StyledRow] = []  # rows already left the live region of a line that goes on

    @property
    def columns(self) -> int | None:
        """The terminal width modelled (None: unlimited)."""
        return self._columns

    def resize(self, columns: int | None) -> None:
        """Model a terminal `columns` wide from the next byte on (None: unlimited width)."""
        if columns is not None and columns < 1:
            raise ValueError("columns must be positive (or None for unlimited)")
        self._columns = columns
        self._max_columns = min(columns, self._limit_columns) if columns is not None else self._limit_columns
        self._ctrl = _CTRL if columns is None else _CTRL_AND_TAB
        self._cycles = _BAR_CYCLES if columns is None else _BAR_CYCLES_NO_TAB
        self._plain_bytes = _PLAIN_BYTES_AND_TAB if columns is None else _PLAIN_BYTES
        if getattr(self, "_cx", 0) > self._max_columns:
            self._cx = self._max_columns

    @property
    def reach(self) -> int:
        """How many rows above the cursor are kept open (grows with the cursor-ups seen)."""
        return self._reach

    def feed(self, data: bytes, timestamp: float) -> list[Line]:
        """Consume a chunk of raw output; return the lines that became final, in order."""
        self._now = timestamp
        if not self._tail and self._redraws_only(data):
            text = self._decoder.decode(data)
            if text:
                self._text(text)
        else:
            text = self._decoder.decode(data)
            if self._tail:
                text = self._tail + text
                self._tail = ""
            if text:
                self._process(text)
        out, self._out = self._out, []
        return out

    def _redraws_only(self, data: bytes) -> bool:
        """Whether `data` decodes to text with no control character but `\\r` (a progress bar's redraws):
        checked on the bytes (a C1 control is `\\xc2` and a byte in 0x80-0x9f, maybe across chunks)."""
        return (
            b"\n" not in data
            and b"\x1b" not in data
            and not data.translate(None, self._plain_bytes)
            and b"\xc2" not in data
            and not self._decoder.getstate()[0]
        )

    def pending(self) -> list[Line]:
        """The lines `flush()` would return now, without finalising them or changing any state."""
        levels = self._levels
        self._levels = levels.copy()
        try:
            return self._join(self._carry, self._rows[: self._flush_end()], closing=True)[0]
        finally:
            self._levels = levels

    def flush(self) -> list[Line]:
        """Finalise everything still open and start a fresh live region at column 0.

        A UTF-8 character cut short becomes U+FFFD and an unfinished escape sequence is dropped.
        """
        text = self._decoder.decode(b"", final=True)
        self._decoder.reset()
        self._tail = ""
        if text:
            self._process(text)
            self._tail = ""
        self._emit(self._flush_end())
        if self._carry:  # the last row ended exactly at the last column
            self._out.append(self._line_of(self._carry))
            self._carry = []
        self._base += len(self._rows)
        self._rows = [StyledRow(self._now)]
        self._cy = 0
        self._cx = 0
        out, self._out = self._out, []
        return out

    def snapshot(self) -> dict[str, Any]:
        """The whole state as JSON-compatible data; `LineSplitter.restore` rebuilds it."""
        pending, flag = self._decoder.getstate()
        return {
            "v": SNAPSHOT_VERSION,
            "limits": [self._max_reach, self._limit_columns, self._columns],
            "reach": self._reach,
            "pending": [list(pending), flag],
            "tail": self._tail,
            "now": self._now,
            "rows": [[r.text, r.starts, r.styles, r.timestamp, r.wrapped] for r in self._rows],
            "carry": [[r.text, r.starts, r.styles, r.timestamp, r.wrapped] for r in self._carry],
            "cursor": [self._base, self._cy, self._cx],
            "style": self._style,
            "saved": list(self._saved) if self._saved is not None else None,
            "levels": self._levels.state(),
        }

    @classmethod
    def restore(cls, snap: dict[str, Any]) -> LineSplitter:
        """A splitter in the state `snapshot()` captured. Raises ValueError for another format version."""
        if snap.get("v") != SNAPSHOT_VERSION:
            raise ValueError(f"unknown line splitter snapshot version {snap.get('v')!r}")
        max_reach, max_columns, columns = snap["limits"]
        self = cls(min_reach=0, max_reach=int(max_reach), max_columns=int(max_columns), columns=columns)
        self._reach = int(snap["reach"])
        pending, flag = snap["pending"]
        self._decoder.setstate((bytes(pending), int(flag)))
        self._tail = str(snap["tail"])
        self._now = float(snap["now"])
        self._rows = _rows(snap["rows"]) or [StyledRow(self._now)]
        self._carry = _rows(snap.get("carry", []))
        self._base, self._cy, self._cx = (int(v) for v in snap["cursor"])
        self._style = str(snap["style"])
        saved = snap["saved"]
        self._saved = (int(saved[0]), int(saved[1]), str(saved[2])) if saved is not None else None
        self._levels = LevelDetector.from_state(list(snap["levels"]))
        return self

    def _flush_end(self) -> int:
        """How many rows a flush finalises: all above the cursor, then up to the last non-blank one."""
        rows = self._rows
        for i in range(len(rows) - 1, self._cy - 1, -1):
            if rows[i].text.rstrip(" "):
                return i + 1
        return self._cy

    def _line(self, row: StyledRow) -> Line:
        text, display = row.render()
        return Line(text, display, row.timestamp, self._levels.level(text), row.wrapped)

    def _join(
        self, carry: list[StyledRow], rows: list[StyledRow], *, closing: bool
    ) -> tuple[list[Line], list[StyledRow]]:
        """The lines of `rows` leaving the live region after the `carry` rows (the start of a line that
        wrapped at the terminal width); returns them and the rows of a line not ended yet (none when
        `closing`). Without a width every row is a line (a row cut at `max_columns` too)."""
        if self._columns is None and not carry:
            return self._lines([(*row.render(), row.timestamp, row.wrapped) for row in rows]), []
        out: list[_Rendered] = []
        group = list(carry)
        per_row = max(self._max_columns, 1)
        for row in rows:
            group.append(row)
            if row.wrapped and self._columns is not None and (len(group) + 1) * per_row <= self._limit_columns:
                continue  # a soft wrap: the line goes on in the next row
            out.append(self._rendered(group))
            group = []
        if closing and group:
            out.append(self._rendered(group))
            group = []
        return self._lines(out), group

    def _lines(self, rendered: list[_Rendered]) -> list[Line]:
        """Lines of (text, display, timestamp, wrapped), their levels detected in order."""
        levels = self._levels.levels([r[0] for r in rendered])
        return [Line(t, d, at, level, w) for (t, d, at, w), level in zip(rendered, levels, strict=True)]

    def _line_of(self, rows: list[StyledRow]) -> Line:
        """One line from rows joined at soft wraps (see `_rendered`)."""
        text, display, at, wrapped = self._rendered(rows)
        return Line(text, display, at, self._levels.level(text), wrapped)

    def _rendered(self, rows: list[StyledRow]) -> _Rendered:
        """One line from rows joined at soft wraps (each but the last keeps its blanks up to the wrap)."""
        if len(rows) == 1:
            row = rows[0]
            return (*row.render(), row.timestamp, row.wrapped)
        texts: list[str] = []
        displays: list[str] = []
        for row in rows[:-1]:
            text, display = row.render()
            pad = " " * max(len(row.text) - len(text), 0)  # the row's blanks up to where it wrapped
            texts.append(text + pad)
            displays.append(display + pad)
        text, display = rows[-1].render()
        text = "".join(texts) + text
        display = "".join(displays) + display
        stripped = text.rstrip(" ")
        if len(stripped) < len(text):  # a blank last row: strip the fill as `render` strips blanks
            cut = len(text) - len(stripped)
            text, display = stripped, display[: len(display) - cut] if display.endswith(" " * cut) else display
        return text, display, max(row.timestamp for row in rows), rows[-1].wrapped

    # -- parsing ---------------------------------------------------------------------------------

    def _process(self, s: str) -> None:
        pos = 0
        n = len(s)
        search = self._ctrl.search
        rows = self._rows
        if self._cx == 0 and self._cy == len(rows) - 1 and not rows[-1].text:
            pos = self._fast_lines(s, 0)
        while pos < n:
            m = search(s, pos)
            if m is None:
                self._text(s[pos:] if pos else s)
                return
            i = m.start()
            if i > pos:
                self._text(s[pos:i])
            c = s[i]
            pos = i + 1
            if c == "\n":
                cycles = self._cycles.match(s, i) if self._cy == len(self._rows) - 2 else None
                if cycles is not None and self._bar_cycles(cycles.group()):
                    pos = cycles.end()
                    continue
                self._cx = 0
                self._down(1, new_rows=True)
                rows = self._rows
                if self._cy == len(rows) - 1 and not rows[-1].text:
                    pos = self._fast_lines(s, pos)
            elif c == "\x1b":
                em = _ESC.match(s, i)
                if em is None:
                    if n - i <= _MAX_ESCAPE and _ESC_PARTIAL.match(s, i) is not None:
                        self._tail = s[i:]
                        return
                    continue  # a lone or malformed ESC: drop it
                pos = em.end()
                final = em.group("final")
                if final is not None:
                    self._csi(em.group("params"), em.group("inter"), final)
                else:
                    efinal = em.group("efinal")
                    if efinal is not None and not em.group("einter"):
                        self._esc(efinal)
            elif c == "\b":
                if self._cx > 0:
                    self._cx -= 1
            elif c == "\t":  # only with a terminal width (see `_ctrl`)
                # the next tab stop, at most the last column (a pending wrap is cancelled, as in pyte/xterm)
                self._cx = min((self._cx // _TAB_STOP + 1) * _TAB_STOP, self._max_columns - 1)
            elif c in "\x0b\x0c":
                self._cx = 0
                self._down(1, new_rows=True)
            # every other control character is dropped

    def _fast_lines(self, s: str, pos: int) -> int:
        """Take whole simple lines starting at `pos` (cursor at column 0 of a blank last row).

        Gives exactly what the general path gives (the tests feed byte by byte, which never takes it);
        returns the position after the lines taken. The lines that are final at once (all but the last
        `reach`) go out without a row of the live region (`_final_lines`).
        """
        m = _SIMPLE_LINES.match(s, pos)
        if m is None:
            return pos
        block = s[pos : m.end() - 1]
        raws = block.split("\n")
        rows = self._rows
        above = len(rows) - 1  # the rows above the cursor's
        direct = len(raws) - self._reach  # of the lines, how many leave the live region at once
        if (
            direct > 1
            and max(map(len, raws)) <= self._max_columns
            and (self._columns is None or "\t" not in block)
            and not rows[-1].wrapped
        ):
            self._emit(above)
            if not self._carry:
                self._final_lines(block.replace("\r", "").split("\n") if "\r" in block else raws, direct)
                return m.end()
        limit = self._max_columns
        now = self._now
        rows = self._rows
        row = rows[-1]
        new_rows: list[StyledRow] = []
        tabs = self._columns is not None
        for raw in raws:
            if len(raw) > limit or (tabs and "\t" in raw):
                break
            pos += len(raw) + 1
            self._fill(row, raw[:-1] if raw.endswith("\r") else raw)
            row = StyledRow(now)
            new_rows.append(row)
        if new_rows:
            rows.extend(new_rows)
            self._cy = len(rows) - 1
            ready = self._cy - self._reach
            if ready > 0:
                self._emit(ready)
        return pos

    def _final_lines(self, raws: list[str], direct: int) -> None:
        """The live region is the cursor's blank row alone: the first `direct` of the simple lines `raws` (no
        `\\r`) become final lines, the others rows above a fresh cursor row."""
        now = self._now
        rendered: list[_Rendered] = []
        for raw in raws[:direct]:
            if "\x1b" in raw:
                row = StyledRow(now)
                self._fill(row, raw)
                rendered.append((*row.render(), now, False))
            else:
                text = raw.rstrip(" ")
                style = self._style
                rendered.append((text, style + text + _RESET if style and text else text, now, False))
        self._out.extend(self._lines(rendered))
        self._base += direct
        rows: list[StyledRow] = []
        for raw in raws[direct:]:
            row = StyledRow(now)
            self._fill(row, raw)
            rows.append(row)
        rows.append(StyledRow(now))
        self._rows = rows
        self._cy = len(rows) - 1
        self._cx = 0

    def _fill(self, row: StyledRow, raw: str) -> None:
        """Write the simple line `raw` (text and SGR sequences) on the blank `row`, dated now."""
        if "\x1b" in raw:
            parts = _SGR_SPLIT.split(raw)
            texts = parts[0::2]
            first, styles, self._style = line_plan(self._style, tuple(parts[1::2]), tuple(map(bool, texts)))
            if first:
                offsets = [0, *accumulate(map(len, texts))]
                row.text = "".join(texts)
                row.starts = [offsets[j] for j in first]
                row.styles = list(styles)
        elif raw:
            row.text = raw
            row.starts = [0]
            row.styles = [self._style]
        row.timestamp = self._now

    def _bar_cycles(self, cycles: str) -> bool:
        """Two progress bars redrawn in turn, as tqdm draws a nested bar (`position=1`): each cycle moves to
        the row below (`\\n`), redraws it (`\\r` + text), goes back up (`ESC[A`) and redraws the bar there.
        Taken when the row below exists and the cycles change nothing else (no line becomes final, no
        deeper reach, no wrap, no empty row dated by its newline): each row is then its redraws overlaid.
        False (nothing done) otherwise."""
        rows = self._rows
        cy = self._cy
        if self._reach < 1 or len(rows) - 1 > self._reach or not rows[cy].text:
            return False
        lower: list[str] = []
        upper: list[str] = []
        for cycle in cycles[2:].split("\n\r"):
            below, _, here = cycle.partition("\x1b[A\r")
            lower.append(below)
            upper.append(here)
        if max(max(map(len, lower)), max(map(len, upper))) > self._max_columns:
            return False
        self._cy = cy + 1
        self._redraws(lower)
        self._cy = cy
        self._redraws(upper)
        return True

    def _text(self, run: str) -> None:
        """Write a run of text that may hold `\\r`s (no other control character)."""
        if "\r" not in run:
            self._write(run)
            return
        parts = run.split("\r")
        if parts[0]:
            self._write(parts[0])
        self._redraws(parts[1:])

    def _redraws(self, parts: list[str]) -> None:
        """Write each of `parts` at column 0 of the cursor's row, in order (what `\\r` + text does).

        Only the row's final state matters: for each column, the last part that reached it. So the parts
        are overlaid (the last one, then what longer earlier ones leave beyond it) and written once.
        """
        last = parts[-1]
        longest = max(map(len, parts))
        if longest > self._max_columns:  # a part wraps onto the next row: one by one
            for part in parts:
                self._cx = 0
                if part:
                    self._write(part)
            return
        text = last
        covered = len(last)
        if longest > covered:
            pieces = [last]
            for part in reversed(parts):
                if len(part) > covered:
                    pieces.append(part[covered:])
                    covered = len(part)
                    if covered == longest:
                        break
            text = "".join(pieces)
        self._cx = 0
        if text:
            self._write(text)
        self._cx = len(last)

    def _write(self, seg: str) -> None:
        limit = self._max_columns
        while True:
            cx = self._cx
            if cx >= limit:
                self._rows[self._cy].wrapped = True
                self._cx = 0
                self._down(1, new_rows=True)
                cx = 0
            room = limit - cx
            part = seg if len(seg) <= room else seg[:room]
            row = self._rows[self._cy]
            row.put(cx, part, self._style)
            row.timestamp = self._now
            self._cx = cx + len(part)
            if len(part) == len(seg):
                return
            seg = seg[room:]

    def _esc(self, final: str) -> None:
        if final == "M":
            self._up(1)
        elif final == "D":
            self._down(1, new_rows=True)
        elif final == "E":
            self._cx = 0
            self._down(1, new_rows=True)
        elif final == "7":
            self._save()
        elif final == "8":
            self._restore()
        elif final == "c":  # full reset
            self._style = ""
            self._erase_display(2)
            self._cx = 0

    def _csi(self, params: str, inter: str, final: str) -> None:
        if inter or params[:1] in ("?", ">", "<", "="):
            return  # private modes and the like: nothing on the page changes
        if final == "m":
            self._style = next_style(self._style, params)
        elif final == "A":
            self._up(_int(params, 1))
        elif final == "B":
            self._down(_int(params, 1), new_rows=False)
        elif final == "C":
            self._cx = min(self._cx + _int(params, 1), self._max_columns - 1)
        elif final == "D":
            self._cx = max(self._cx - _int(params, 1), 0)
        elif final == "E":
            self._cx = 0
            self._down(_int(params, 1), new_rows=False)
        elif final == "F":
            self._cx = 0
            self._up(_int(params, 1))
        elif final in "G`":
            self._cx = min(_int(params, 1), self._max_columns) - 1
        elif final in "Hf":
            parts = params.split(";")
            col = parts[1] if len(parts) > 1 else ""
            self._cx = min(int(col) if col.isdigit() and int(col) else 1, self._max_columns) - 1
        elif final == "K":
            self._erase_line(_int(params, 0))
        elif final == "J":
            self._erase_display(_int(params, 0))
        elif final == "X":
            count = min(_int(params, 1), self._max_columns - self._cx)
            row = self._rows[self._cy]
            if self._cx < len(row.text):
                row.put(self._cx, " " * min(count, len(row.text) - self._cx), "")
                row.timestamp = self._now
        elif final == "s":
            self._save()
        elif final == "u":
            self._restore()

    # -- cursor and rows ------------------------------------------------------------------------

    def _up(self, count: int) -> None:
        count = min(count, self._max_reach)
        target = self._cy - count
        # How far above the lowest row visited the cursor now is: consecutive `ESC[A`s add up.
        depth = min(len(self._rows) - 1 - target, self._max_reach)
        if depth > self._reach:
            self._reach = depth
        if target < 0:
            # Fresh rows above, but never more than `max_reach + 1` rows in all: beyond that the
            # cursor stops at the top, as it does at the top of a screen.
            room = max(self._max_reach + 1 - len(self._rows), 0)
            added = min(-target, room)
            self._rows[0:0] = [StyledRow(self._now) for _ in range(added)]
            self._base -= added
            target = 0
        self._cy = target

    def _down(self, count: int, *, new_rows: bool) -> None:
        rows = self._rows
        left = rows[self._cy]
        if not left.text:
            left.timestamp = self._now  # an empty line dates from the newline that ends it
        target = self._cy + count
        if target >= len(rows):
            if new_rows:
                rows.extend(StyledRow(self._now) for _ in range(target - len(rows) + 1))
            else:
                target = len(rows) - 1
        self._cy = target
        ready = target - self._reach
        if ready > 0:
            self._emit(ready)

    def _emit(self, count: int) -> None:
        """Finalise the top `count` rows of the live region."""
        if count <= 0:
            return
        rows = self._rows
        lines, self._carry = self._join(self._carry, rows[:count], closing=False)
        self._out.extend(lines)
        del rows[:count]
        self._base += count
        self._cy -= count

    def _save(self) -> None:
        self._saved = (self._base + self._cy, self._cx, self._style)

    def _restore(self) -> None:
        if self._saved is None:
            self._cx = 0
            return
        row, col, style = self._saved
        self._style = style
        self._cx = col
        index = row - self._base
        if index < self._cy:
            self._up(self._cy - index)
        elif index > self._cy:
            self._down(index - self._cy, new_rows=False)

    def _erase_line(self, mode: int) -> None:
        row = self._rows[self._cy]
        if mode == 0:
            changed = row.truncate(self._cx)
        elif mode == 1:
            end = min(self._cx + 1, len(row.text))
            changed = end > 0
            if changed:
                row.put(0, " " * end, "")
        else:
            changed = row.clear()
        if changed:
            row.timestamp = self._now

    def _erase_display(self, mode: int) -> None:
        rows = self._rows
        if mode == 0:
            self._erase_line(0)
            others = rows[self._cy + 1 :]
        elif mode == 1:
            self._erase_line(1)
            others = rows[: self._cy]
        else:
            others = rows
        for row in others:
            if row.clear():
                row.timestamp = self._now
