"""Recognise metrics in what a program prints (``trainboard run``'s "metrics without code"). Pure, stdlib only.

Fed the raw bytes of one output stream, :class:`MetricParser` splits them into lines the way a terminal shows
them (a ``\\r`` redraws the line, so only the text after the last ``\\r`` of a line counts: a tqdm bar redrawn
a thousand times is one line, in its final state; ANSI escape sequences and backspaces are dropped) and
recognises, per finished line:

- HF ``Trainer``'s printed log dicts ``{'loss': 0.69, 'grad_norm': 1.2, 'learning_rate': 5e-05, 'epoch': 0.5}``
  (values as numbers or as numeric strings, as newer versions print them). Step: the n-th training dict is
  step n (HF prints one every ``logging_steps`` steps, so this is ``global_step / logging_steps``: exactly the
  global step with ``logging_steps=1``); evaluation dicts (``eval_*`` keys) and the final summary
  (``train_runtime`` ...) take the step of the last training dict. A ``step`` key in the dict wins.
- Keras epoch lines: ``Epoch 3/10`` sets the epoch; the progress line that follows
  (``32/32 ━━━━ 1s 3ms/step - accuracy: 0.90 - loss: 0.31 - val_loss: ...``) gives metrics at step 3.
- tqdm postfixes (``45/100 [00:01<00:02, 30.0it/s, loss=1.23, acc=0.5]``) and plain ``key=value`` /
  ``key: value`` lines. A ``step``, ``global_step``, ``iter``, ``iteration`` or ``epoch`` key (or a leading
  ``Step 100`` / ``Iter 5/100`` / ``Epoch 2``) gives the step; otherwise the n-th line with a key set is step n
  for it (one more than the last step any of its keys had).

Nothing inside a Python traceback is parsed: from ``Traceback (most recent call last):`` through the exception
line that ends it. Lines the SDK itself prints (``trainboard: ...``) are ignored too, and so are warnings and
errors (``UserWarning: ... consider num_workers=8``, ``ERROR: ... retries=3``): their numbers are advice, not
measurements.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

__all__ = ["MAX_LINE", "MetricParser", "ParsedPoint", "parse_text"]

#: the longest line kept (a line without a newline is cut to its last redraw, then to this many characters)
MAX_LINE = 16384
MAX_KEY = 128

_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_NUMBER = r"[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|nan|NaN|inf|Inf|-inf|-Inf)"
_PAIR = re.compile(
    r"(?:^|(?<=[\s,;|(\[{]))"  # a key starts the line or follows a separator
    r"(?P<key>[A-Za-z_][\w./-]{0,127})\s?(?P<sep>[=:])\s*"
    r"(?P<value>" + _NUMBER + r")(?=$|[\s,;|)\]}])"
)
_STEP_PREFIX = re.compile(
    r"^\W*(?P<key>step|iter|iteration|epoch|global[_ ]step)\s*[#:=]?\s*(?P<n>\d+)(?:\s*/\s*\d+)?\b", re.I
)
_KERAS_EPOCH = re.compile(r"^Epoch (?P<n>\d+)/\d+\s*$")
_KERAS_LINE = re.compile(r"^\s*\d+/\d+\s.*\s-\s[A-Za-z_][\w./-]*: " + _NUMBER)
_HF_DICT = re.compile(r"^\s*\{\s*'[^']+'\s*:.*\}\s*$")
_TRACEBACK = "Traceback (most recent call last):"
#: what a line must hold to be looked at: a separator, a dict, a Keras epoch header or a traceback's start
_HINT = re.compile(r"[=:{]|Epoch|Traceback")
#: a warning or error message (``UserWarning:``, ``WARNING:``, ``ERROR ...``): its numbers are not metrics
_ADVICE = re.compile(r"\b(?:[A-Z]\w*(?:Warning|Error)|WARNING|ERROR|CRITICAL)\b")
_STEP_KEYS = ("step", "global_step", "iter", "iteration")
#: keys printed by progress bars that are not metrics (Lightning's version number, tqdm's counters)
_IGNORED_KEYS = frozenset({"v_num"})
#: HF summary/eval dicts: logged at the step of the last training dict
_HF_TRAILING = ("eval_", "test_", "train_runtime", "train_samples_per_second", "train_steps_per_second")


@dataclass(frozen=True, slots=True)
class ParsedPoint:
    """Metrics recognised in one line, at ``step``."""

    step: int
    metrics: dict[str, float]


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value


def _line_state(raw: str) -> str:
    """What a terminal shows of one line: the text after its last non-blank ``\\r`` redraw, without escapes."""
    text = _ANSI.sub("", raw)
    if "\r" in text:
        parts = [p for p in text.split("\r") if p.strip()]
        text = parts[-1] if parts else ""
    if "\b" in text:
        text = text.replace("\b", "")
    return _CONTROL.sub("", text).rstrip()  # leading blanks kept: they tell a traceback's body


class MetricParser:
    """Recognises metrics in one output stream, fed in chunks of any size; see the module docstring."""

    def __init__(self) -> None:
        self._buf = ""
        self._in_traceback = False
        self._in_group = False
        self._keras_epoch: int | None = None
        self._hf_count = 0
        self._last_step: dict[str, int] = {}

    def feed(self, data: bytes | str) -> list[ParsedPoint]:
        """The points in the lines ``data`` finishes (a partial last line waits for its end or :meth:`finish`)."""
        text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
        self._buf += text
        if "\n" not in text:
            self._trim()
            return []
        *lines, self._buf = self._buf.split("\n")
        self._trim()
        out: list[ParsedPoint] = []
        for raw in lines:
            if not self._in_traceback and _HINT.search(raw) is None:
                continue  # (most output: nothing that could start a metric or a traceback)
            point = self._line(_line_state(raw[-MAX_LINE * 4 :]))
            if point is not None:
                out.append(point)
        return out

    def finish(self) -> list[ParsedPoint]:
        """The point in the unfinished last line, if any (the stream ended)."""
        raw, self._buf = self._buf, ""
        point = self._line(_line_state(raw))
        return [point] if point is not None else []

    def _trim(self) -> None:
        if len(self._buf) > MAX_LINE * 4:  # a bar redrawn forever without a newline: keep its last redraw
            cut = self._buf.rfind("\r", 0, len(self._buf) - 1)
            self._buf = self._buf[cut + 1 :] if cut >= 0 else self._buf
            self._buf = self._buf[-MAX_LINE * 4 :]

    # ---- one line ----
    def _line(self, line: str) -> ParsedPoint | None:
        if not line.strip():
            return None
        if line.endswith(_TRACEBACK):
            self._in_traceback = True
            self._in_group = self._in_group or line.lstrip().startswith("+ Exception Group")
            return None
        if self._in_group:  # an exception group's report: every line starts with its | and + frame
            if line.lstrip().startswith(("|", "+")):
                return None
            self._in_traceback = self._in_group = False  # (and this line is no longer part of it)
        elif self._in_traceback:
            if not line[:1].isspace() and not line.startswith(("File ", "^", "~")):
                self._in_traceback = False  # the exception line ends the traceback: not parsed either
            return None
        line = line.lstrip()
        if len(line) > MAX_LINE or line.startswith("trainboard:") or _ADVICE.search(line):
            return None
        if line[0] == "{" and _HF_DICT.match(line):
            return self._hf(line)
        m = _KERAS_EPOCH.match(line)
        if m:
            self._keras_epoch = int(m.group("n"))
            return None
        return self._pairs(line)

    def _hf(self, line: str) -> ParsedPoint | None:
        try:
            value = ast.literal_eval(line)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            return None
        if not isinstance(value, dict):
            return None
        metrics: dict[str, float] = {}
        for key, v in value.items():
            if not isinstance(key, str) or not key or len(key) > MAX_KEY:
                continue
            number = _number(v) if isinstance(v, str) else (float(v) if isinstance(v, int | float) else None)
            if number is not None and not isinstance(v, bool):
                metrics[key] = number
        if not metrics:
            return None
        step = metrics.get("step")
        if step is not None and step.is_integer() and 0 <= step <= 2**53 - 1:
            metrics.pop("step")
            return self._at(int(step), metrics)
        trailing = all(k.startswith(_HF_TRAILING) or k in ("epoch", "total_flos", "train_loss") for k in metrics)
        if not trailing or self._hf_count == 0:
            self._hf_count += 1
        return self._at(self._hf_count, metrics)

    def _pairs(self, line: str) -> ParsedPoint | None:
        metrics: dict[str, float] = {}
        for m in _PAIR.finditer(line):
            key = m.group("key").rstrip("./-")
            value = _number(m.group("value"))
            if key and value is not None and key not in _IGNORED_KEYS:
                metrics[key] = value
        if not metrics:
            return None
        if self._keras_epoch is not None and _KERAS_LINE.match(line):
            return self._at(self._keras_epoch, metrics)
        for key in _STEP_KEYS:
            step = metrics.get(key)
            if step is not None and step.is_integer() and 0 <= step <= 2**53 - 1:
                del metrics[key]
                return self._at(int(step), metrics) if metrics else None
        prefix = _STEP_PREFIX.match(line)
        if prefix:
            return self._at(int(prefix.group("n")), metrics)
        epoch = metrics.get("epoch")
        if epoch is not None and epoch.is_integer() and 0 <= epoch <= 2**53 - 1:
            return self._at(int(epoch), metrics)
        step_after = max((self._last_step.get(k, 0) for k in metrics), default=0) + 1
        return self._at(step_after, metrics)

    def _at(self, step: int, metrics: dict[str, float]) -> ParsedPoint | None:
        if not metrics or step > 2**53 - 1:
            return None
        for key in metrics:
            self._last_step[key] = step
        return ParsedPoint(step, metrics)


def parse_text(chunks: Iterable[bytes | str]) -> Iterator[ParsedPoint]:
    """Every point in a whole stream given as chunks (the last unfinished line included)."""
    parser = MetricParser()
    for chunk in chunks:
        yield from parser.feed(chunk)
    yield from parser.finish()
