"""One row of the terminal model: its text plus runs of SGR state, and how it renders for display.

Internal to `trainboard.server.loglines`: the SGR state of a run is the concatenation of the SGR
sequences since the last reset (capped at 128 characters; beyond it only the newest one is kept).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right

__all__ = ["StyledRow", "line_plan", "next_style"]

_RESET = "\x1b[0m"
_MAX_STYLE = 128


class StyledRow:
    """One row of the live region: text plus style runs (parallel sorted `starts` / `styles`)."""

    __slots__ = ("starts", "styles", "text", "timestamp", "wrapped")

    def __init__(self, timestamp: float) -> None:
        self.text = ""
        self.starts: list[int] = []
        self.styles: list[str] = []
        self.timestamp = timestamp
        self.wrapped = False

    def put(self, col: int, seg: str, style: str) -> None:
        """Write `seg` at column `col` in `style`, overwriting what is there."""
        text = self.text
        n = len(text)
        if col >= n:
            if col > n:
                text += " " * (col - n)
                if not self.styles or self.styles[-1]:
                    self.starts.append(n)
                    self.styles.append("")
            if not self.styles or self.styles[-1] != style:
                self.starts.append(col)
                self.styles.append(style)
            self.text = text + seg
            return
        end = col + len(seg)
        if col == 0 and end >= n:
            self.text = seg
            self.starts = [0]
            self.styles = [style]
            return
        self.text = text[:col] + seg + text[end:]
        starts, styles = self.starts, self.styles
        j = bisect_left(starts, col)
        new_starts = [*starts[:j], col]
        new_styles = [*styles[:j], style]
        if end < n:
            k = bisect_right(starts, end) - 1
            new_starts.append(end)
            new_styles.append(styles[k])
            new_starts.extend(starts[k + 1 :])
            new_styles.extend(styles[k + 1 :])
        self.starts, self.styles = _merge_runs(new_starts, new_styles)

    def truncate(self, col: int) -> bool:
        """Erase from `col` to the end; True when something was erased."""
        if col >= len(self.text):
            return False
        self.text = self.text[:col]
        j = bisect_left(self.starts, col)
        del self.starts[j:]
        del self.styles[j:]
        return True

    def clear(self) -> bool:
        """Erase the whole row; True when it held anything."""
        if not self.text:
            return False
        self.text = ""
        self.starts = []
        self.styles = []
        return True

    def render(self) -> tuple[str, str]:
        """(plain text, display text with SGR) with trailing blanks stripped."""
        text = self.text.rstrip(" ")
        length = len(text)
        styles = self.styles
        if not length or not styles or (len(styles) == 1 and not styles[0]):
            return text, text
        starts = self.starts
        n = bisect_left(starts, length)  # the runs that start before the stripped end
        prefixes, suffix = _transitions(tuple(styles[:n]))
        bounds = starts[1:n]
        bounds.append(length)
        parts = [p + text[a:b] for p, a, b in zip(prefixes, starts[:n], bounds, strict=True)]
        return text, "".join(parts) + suffix


_TRANSITIONS: dict[tuple[str, ...], tuple[tuple[str, ...], str]] = {}
_PLANS: dict[tuple[str, tuple[str, ...], tuple[bool, ...]], tuple[tuple[int, ...], tuple[str, ...], str]] = {}
_CACHE_SIZE = 4096


def _transitions(styles: tuple[str, ...]) -> tuple[tuple[str, ...], str]:
    """What `display` emits before each run of `styles`, and at the end (cached: few distinct rows)."""
    plan = _TRANSITIONS.get(styles)
    if plan is None:
        prefixes: list[str] = []
        current = ""
        for style in styles:
            if style == current:
                prefixes.append("")
            else:
                prefixes.append(style if not current else (_RESET + style if style else _RESET))
                current = style
        plan = (tuple(prefixes), _RESET if current else "")
        if len(_TRANSITIONS) >= _CACHE_SIZE:
            _TRANSITIONS.clear()
        _TRANSITIONS[styles] = plan
    return plan


def next_style(style: str, params: str) -> str:
    """The SGR state after `ESC[<params>m` in state `style`."""
    if not params or params.strip("0") == "":
        return ""
    seq = f"\x1b[{params}m"
    if params.startswith(("0;", "00;")):
        return seq
    style += seq
    return style if len(style) <= _MAX_STYLE else seq


def line_plan(
    style: str, params: tuple[str, ...], nonempty: tuple[bool, ...]
) -> tuple[tuple[int, ...], tuple[str, ...], str]:
    """For a line split into texts and SGR params: which texts start a run, the runs' styles and the
    SGR state after the line (cached: a program prints few distinct colour layouts)."""
    key = (style, params, nonempty)
    plan = _PLANS.get(key)
    if plan is None:
        starts: list[int] = []
        styles: list[str] = []
        for j, has_text in enumerate(nonempty):
            if j:
                style = next_style(style, params[j - 1])
            if has_text and (not styles or styles[-1] != style):
                starts.append(j)
                styles.append(style)
        plan = (tuple(starts), tuple(styles), style)
        if len(_PLANS) >= _CACHE_SIZE:
            _PLANS.clear()
        _PLANS[key] = plan
    return plan


def _merge_runs(starts: list[int], styles: list[str]) -> tuple[list[int], list[str]]:
    out_starts: list[int] = []
    out_styles: list[str] = []
    for start, style in zip(starts, styles, strict=True):
        if out_styles and out_styles[-1] == style:
            continue
        if out_starts and out_starts[-1] == start:
            out_styles[-1] = style
            continue
        out_starts.append(start)
        out_styles.append(style)
    return out_starts, out_styles
