"""Level detection for plain-text log lines: an ordered rule table plus Python traceback tracking.

Rules (the docs copy this table; `LEVEL_RULES` is the source of truth and each rule's example is tested):

| rule               | matches (plain text, escapes removed), in this order                 | level    |
|--------------------|----------------------------------------------------------------------|----------|
| traceback          | `Traceback (most recent call last):` (also `Exception Group          | ERROR    |
|                    | Traceback`, nested `  + ...`) starts a traceback; each following     |          |
|                    | line that is indented or empty is ERROR; the first other line (the   |          |
|                    | final `SomeError: message`) is ERROR and ends it. Per source.        |          |
| logging-basic      | `LEVEL:` at the start: `logging.basicConfig()`'s `WARNING:root:msg`  | named    |
| glog               | `W1122 12:00:00.123 ...` (absl / glog: D I W E F + MMDD + time)      | named    |
| bracket-letter     | `[W 12:00:00 ...]`, `[E 2024-...` (tornado / Jupyter: D I W E C)     | named    |
| level-word-prefix  | the first upper-case level word (`DEBUG`, `INFO`, `WARN`, `WARNING`, | named    |
|                    | `ERROR`, `CRITICAL`, `FATAL`) within the first 80 characters:        |          |
|                    | `%(levelname)s` formats such as                                      |          |
|                    | `2024-01-01 12:00:00,123 - name - ERROR - msg`, `[INFO] msg`, loguru |          |
| traceback-chain    | `During handling of the above exception...`,                         | ERROR    |
|                    | `The above exception was the direct cause...`                        |          |
| exception-start    | a line starting with `Error`, `XxxError` or `XxxException` (dotted   | ERROR    |
|                    | names allowed) then `:` or the end: `ValueError: bad`, `Error: x`    |          |
| compiler-error     | `error:` / `fatal error:` at the start or after a `path:line:` part  | ERROR    |
| warning-class      | a `XxxWarning` name anywhere (`UserWarning`, `FutureWarning`, the    | WARNING  |
|                    | `file.py:12: UserWarning: msg` format), or `Warning:` anywhere       |          |
| compiler-warning   | `warning:` at the start or after a `path:line:` part                 | WARNING  |
| exception-anywhere | `XxxError: ` / `XxxException: ` anywhere (a class name, not a lone   | ERROR    |
|                    | `Error:`, so `Mean Squared Error: 0.1` stays INFO)                   |          |
| critical-word      | `CRITICAL` / `FATAL` anywhere (upper case, whole word)               | CRITICAL |
| error-word         | `ERROR` anywhere (upper case, whole word)                            | ERROR    |
| warning-word       | `WARNING` / `WARN` anywhere (upper case, whole word)                 | WARNING  |
| warnings-location  | `path.py:LINE: message` at the start: the `warnings` module's format | WARNING  |
|                    | without a category, as Lightning's `rank_zero_warn` prints it        |          |
|                    | (`.../logger_connector.py:76: Starting from v1.9.0, ...`); not       |          |
|                    | `note:` lines (mypy) nor a bare `XxxError` (pytest's location line)  |          |
| (default)          | anything else, stdout and stderr alike (tqdm and `warnings` write to | INFO     |
|                    | stderr, so stderr alone is no evidence of an error)                  |          |

"named" means the level the matched word or letter names (W/WARN/WARNING, E/ERROR, C/F/FATAL/CRITICAL, ...).
The first matching rule wins. After a line in the `warnings` format (warning-class with a `path:LINE:`
location, or warnings-location), the one indented line that follows it (the source line the module
prints, `  warnings.warn(...)`) is WARNING too. Lower-case words (`error`, `warning`) count only in the
compiler form, so a metric such as `train error: 0.05` is not an error.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from itertools import accumulate

from trainboard.server.loglines.line import Level

__all__ = ["LEVEL_RULES", "LevelDetector", "LevelRule", "classify"]

_NAMED: dict[str, Level] = {
    "D": Level.DEBUG,
    "DEBUG": Level.DEBUG,
    "I": Level.INFO,
    "INFO": Level.INFO,
    "W": Level.WARNING,
    "WARN": Level.WARNING,
    "WARNING": Level.WARNING,
    "E": Level.ERROR,
    "ERROR": Level.ERROR,
    "C": Level.CRITICAL,
    "F": Level.CRITICAL,
    "FATAL": Level.CRITICAL,
    "CRITICAL": Level.CRITICAL,
}


@dataclass(frozen=True, slots=True)
class LevelRule:
    """One row of the level table: `pattern` is searched in the plain text of a line.

    When `level` is None the pattern's group `lvl` names the level (`W`, `WARNING`, ...).
    `example` is a line the rule must classify as `example_level` (tested).
    """

    name: str
    pattern: re.Pattern[str]
    level: Level | None
    example: str
    example_level: Level

    def match(self, text: str) -> Level | None:
        """The level this rule gives `text`, or None when it does not apply."""
        m = self.pattern.search(text)
        if m is None:
            return None
        if self.level is not None:
            return self.level
        return _NAMED[m.group("lvl")]


#: `warnings.formatwarning`'s `path:lineno: ` prefix (a Python file, a Windows drive allowed); what follows
#: is neither a mypy `note:` nor a bare exception name (pytest's `file.py:12: AssertionError`).
_WARNINGS_LOCATION = re.compile(r"^(?:[A-Za-z]:)?[^\s:]*\.pyx?:\d+: (?!note:)(?![\w.]*(?:Error|Exception)\b)\S")

_LEVEL_WORD = r"(?P<lvl>CRITICAL|FATAL|ERROR|WARNING|WARN|INFO|DEBUG)"

LEVEL_RULES: tuple[LevelRule, ...] = (
    LevelRule(
        "logging-basic",
        re.compile(rf"^{_LEVEL_WORD}:"),
        None,
        "WARNING:root:learning rate is high",
        Level.WARNING,
    ),
    LevelRule(
        "glog",
        re.compile(r"^(?P<lvl>[DIWEF])\d{4} \d\d:\d\d:\d\d"),
        None,
        "E1122 12:00:00.123456  4242 trainer.py:12] NCCL timeout",
        Level.ERROR,
    ),
    LevelRule(
        "bracket-letter",
        re.compile(r"^\[(?P<lvl>[DIWEC]) \d"),
        None,
        "[W 12:00:00.123 ServerApp] kernel restarted",
        Level.WARNING,
    ),
    LevelRule(
        "level-word-prefix",
        re.compile(rf"^.{{0,80}}?\b{_LEVEL_WORD}\b"),
        None,
        "2024-01-01 12:00:00,123 - trainer - ERROR - loss diverged",
        Level.ERROR,
    ),
    LevelRule(
        "traceback-chain",
        re.compile(r"^(?:During handling of the above exception|The above exception was the direct cause)"),
        Level.ERROR,
        "During handling of the above exception, another exception occurred:",
        Level.ERROR,
    ),
    LevelRule(
        "exception-start",
        re.compile(r"^(?:[A-Za-z_][\w.]*)?(?:Error|Exception)(?::|$)"),
        Level.ERROR,
        "torch.cuda.OutOfMemoryError: CUDA out of memory.",
        Level.ERROR,
    ),
    LevelRule(
        "compiler-error",
        re.compile(r"^(?:\S+:\s+)?(?:fatal )?error:"),
        Level.ERROR,
        "csrc/kernel.cu:12:3: error: expected ';'",
        Level.ERROR,
    ),
    LevelRule(
        "warning-class",
        re.compile(r"\b[A-Z]\w*Warning\b|\bWarning:"),
        Level.WARNING,
        "/opt/lib/data.py:88: UserWarning: num_workers is 0",
        Level.WARNING,
    ),
    LevelRule(
        "compiler-warning",
        re.compile(r"^(?:\S+:\s+)?warning:"),
        Level.WARNING,
        "warning: unused variable 'x'",
        Level.WARNING,
    ),
    LevelRule(
        "exception-anywhere",
        re.compile(r"\b[A-Za-z_][\w.]*(?:Error|Exception): "),
        Level.ERROR,
        "step 3 failed with RuntimeError: NCCL error",
        Level.ERROR,
    ),
    LevelRule(
        "critical-word",
        re.compile(r"\b(?:CRITICAL|FATAL)\b"),
        Level.CRITICAL,
        "worker 3 of 8 (/data/runs/2024-01-01/llama-7b-finetune/checkpoints/step_000012/) FATAL, shutting down",
        Level.CRITICAL,
    ),
    LevelRule(
        "error-word",
        re.compile(r"\bERROR\b"),
        Level.ERROR,
        "epoch 3 validation on /data/runs/2024-01-01/llama-7b-finetune/checkpoints/step_000012/: ERROR - NaN loss",
        Level.ERROR,
    ),
    LevelRule(
        "warning-word",
        re.compile(r"\bWARN(?:ING)?\b"),
        Level.WARNING,
        "checkpoint 12 saved to /data/runs/2024-01-01/llama-7b-finetune/checkpoints/step_000012/ "
        "(WARNING: disk 95% full)",
        Level.WARNING,
    ),
    LevelRule(
        "warnings-location",
        _WARNINGS_LOCATION,
        Level.WARNING,
        "/usr/lib/python3/site-packages/lightning/pytorch/trainer/connectors/logger_connector/logger_connector.py:76: "
        "Starting from v1.9.0, `tensorboardX` has been removed as a dependency of the `lightning.pytorch` package",
        Level.WARNING,
    ),
)

# A line containing none of these words (and not starting like glog / bracket-letter) cannot match a
# rule that gives anything but INFO: one scan instead of fourteen. `INFO` itself is left out on purpose.
# `exception` is also in both chaining lines (`_CHAIN`).
_PREFILTER_WORDS: tuple[str, ...] = ("ERROR", "WARN", "DEBUG", "CRITICAL", "FATAL", "Error", "Exception", "Warning")
_PREFILTER_WORDS += ("error:", "warning:", "exception")
_PY_LOCATION = re.compile(r"\.pyx?:\d")
_PREFILTER = re.compile("|".join([*map(re.escape, _PREFILTER_WORDS), _PY_LOCATION.pattern]))
_LETTER_START = re.compile(r"\n[DIWEF\[][0-9DIWEC]")  # the start of a line that `_may_match` looks at


def _may_match(text: str) -> bool:
    return _PREFILTER.search(text) is not None or (
        len(text) > 1 and text[0] in "DIWEF[" and text[1] in "0123456789DIWEC"
    )


_LOCATION = re.compile(r"^(?:[A-Za-z]:)?[^\s:]*\.pyx?:\d+: ")
_CHAIN = re.compile(r"During handling of the above exception|The above exception was the direct cause")
_TRACEBACK_START = re.compile(r"^(?:\s*\+ )?(?:Exception Group )?Traceback \(most recent call last\):")


def classify(text: str, rules: tuple[LevelRule, ...] = LEVEL_RULES) -> Level:
    """The level of one line by the rule table alone (no traceback state); INFO when nothing matches."""
    if rules is LEVEL_RULES and not _may_match(text):
        return Level.INFO
    for rule in rules:
        level = rule.match(text)
        if level is not None:
            return level
    return Level.INFO


class LevelDetector:
    """Classifies consecutive lines of one source, following Python tracebacks across lines.

    Inside a traceback every indented or empty line is ERROR and the first other line (the exception)
    ends it; blank lines right after it and the chaining lines (`During handling of the above
    exception...`) stay ERROR too, so a chained traceback is ERROR from its first line to its last.
    """

    __slots__ = ("_after", "_in_traceback", "_warning_source")

    def __init__(self, *, in_traceback: bool = False) -> None:
        self._in_traceback = in_traceback
        self._after = False
        self._warning_source = False  # the previous line was a `path.py:N: ...` warning

    def copy(self) -> LevelDetector:
        """An independent detector in the same state."""
        return LevelDetector.from_state(self.state())

    def state(self) -> list[bool]:
        """The detector's state as plain data (for persisting it); see `from_state`."""
        return [self._in_traceback, self._after, self._warning_source]

    @classmethod
    def from_state(cls, state: list[bool]) -> LevelDetector:
        """A detector in the state `state()` returned."""
        other = cls(in_traceback=bool(state[0]))
        other._after = bool(state[1])
        other._warning_source = bool(state[2])
        return other

    @property
    def in_traceback(self) -> bool:
        """True while the lines seen so far end inside a traceback."""
        return self._in_traceback

    def levels(self, texts: list[str]) -> list[Level]:
        """The levels of the next lines `texts` (no `\\n` in any), as `level` gives them one by one.

        Faster for many lines: a line that contains no word of the prefilter, no `Traceback` and no
        `.py:N` and does not start like glog (`_may_match`) is INFO and leaves the state alone when no
        traceback or warning is open; such lines are found with `str.find` over all the text at once.
        """
        if len(texts) < 8:
            return [self.level(text) for text in texts]
        joined = "\n".join(texts)
        hits: set[int] = set()
        for word in (*_PREFILTER_WORDS, "Traceback"):
            at = joined.find(word)
            while at >= 0:
                hits.add(at)
                at = joined.find(word, at + 1)
        at = joined.find(".py")
        while at >= 0:
            if _PY_LOCATION.match(joined, at):
                hits.add(at)
            at = joined.find(".py", at + 1)
        hits.update(m.start() for m in _LETTER_START.finditer("\n" + joined))  # m.start(): the line's start
        ends = list(accumulate(len(text) + 1 for text in texts))
        candidates = sorted({bisect_right(ends, at) for at in hits})
        out = [Level.INFO] * len(texts)
        i = 0
        for candidate in candidates:
            while i < candidate and (self._warning_source or self._in_traceback or self._after):
                out[i] = self.level(texts[i])
                i += 1
            i = max(i, candidate)
            if i == candidate:
                out[i] = self.level(texts[i])
                i += 1
        while i < len(texts) and (self._warning_source or self._in_traceback or self._after):
            out[i] = self.level(texts[i])
            i += 1
        return out

    def level(self, text: str) -> Level:
        """The level of the next line `text` (plain text) of this source."""
        if self._warning_source:
            self._warning_source = False
            if text[:1] in (" ", "\t") and text.strip() and not self._in_traceback:
                return Level.WARNING  # the source line `warnings` prints under its message
        if self._in_traceback:
            if not text or text[0] in " \t":
                return Level.ERROR
            if _TRACEBACK_START.match(text) is None:
                # The final `SomeError: message` line.
                self._in_traceback = False
                self._after = True
            return Level.ERROR
        if self._after:
            if not text:
                return Level.ERROR
            self._after = False
        if "Traceback" in text and _TRACEBACK_START.match(text) is not None:
            self._in_traceback = True
            return Level.ERROR
        if _CHAIN.match(text) is not None:
            self._after = True
            return Level.ERROR
        level = classify(text)
        if level == Level.WARNING and _LOCATION.match(text) is not None:
            self._warning_source = True
        return level
