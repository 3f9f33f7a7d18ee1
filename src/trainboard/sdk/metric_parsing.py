"""Recognise metrics in what a program prints (``trainboard run``'s "metrics without code"). Pure, stdlib only.

Fed the raw bytes of one output stream, :class:`MetricParser` splits them into logical lines: a ``\\r`` redraws
the line, so only the text after the last ``\\r`` of a line counts (a tqdm bar redrawn a thousand times is one
line, in its final state); ANSI escape sequences and backspaces are dropped. A line is parsed only when it is a
metric report (``sdk/metric_fields.py``: banners, tables, model summaries and launcher reports are prose), and
then only as one of these forms:

- HF ``Trainer``'s printed log dicts ``{'loss': 0.69, 'grad_norm': 1.2, 'learning_rate': 5e-05, 'epoch': 0.5}``
  (values as numbers or numeric strings). Step: HF's global step, read from its training bar, which HF redraws
  right after each dict it writes (``5/24 [``: step 5). Without a bar (``disable_tqdm``) the n-th training dict
  is step n, and evaluation and summary dicts take the step of the last training dict. A ``step`` key wins.
  Evaluation dicts printed after the training summary (a later ``evaluate()``) are stored as ``evaluate/<key>``
  (at the final global step; a repeated ``evaluate()`` one step after the previous one), never over the eval
  values of the last epoch (HF prints no step of its own for them).
- Keras epoch lines: ``Epoch 3/10`` sets the epoch; the progress line that follows
  (``32/32 ━━━━ 1s 3ms/step - accuracy: 0.90 - loss: 0.31 - val_loss: ...``) gives metrics at step 2 (Keras
  counts epochs from 0, as ``History.epoch``). A progress line with no ``Epoch`` header of its own (an
  ``evaluate()`` after ``fit``) is stored as ``evaluate/<key>`` at the last epoch's step; a repeated ``evaluate()``
  one step after the previous one (never onto it).
- ``key=value`` / ``key: value`` lines. A ``step``, ``global_step``, ``iter``, ``iteration`` or ``epoch`` key (or
  a leading ``Step 100`` / ``Iter 5/100`` / ``Epoch 2``) gives the step; otherwise the n-th line with a key set is
  step n for it (one more than the last step any of its keys had).
- Progress bars (tqdm's ``n/total [...]`` and Rich's bars, with the lines a wrapped Rich bar continues on) show
  the latest value at no step the program records, and their counters are not another key's step: a tqdm bar's
  values are kept only when its postfix names the step (``step=``, ``global_step=``, ``iter=``), a Rich bar's
  never. Text printed on the same line right after a tqdm bar (a ``print`` while the bar is drawn) is a line of
  its own.

Nothing inside a Python traceback is parsed: from ``Traceback (most recent call last):`` through the exception
line that ends it (``[rank1]:`` prefixes of torchrun included). Lines the SDK itself prints (``trainboard: ...``),
warnings and errors (``UserWarning: ... num_workers=8``) and glog-style records (``E1207 15:27:13.56 1641
api.py:1002] ...``, torchrun's launcher) are ignored too: their numbers are advice or identifiers, not
measurements. Each value carries its printed significant digits (:attr:`ParsedPoint.digits`): parsed values are
rounded text.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from trainboard.sdk.metric_fields import fields, is_identifier, significant_digits

__all__ = ["EVALUATE_PREFIX", "MAX_LINE", "MetricParser", "ParsedPoint", "StreamGroup", "parse_text"]

#: the longest line kept (a line without a newline is cut to its last redraw, then to this many characters)
MAX_LINE = 16384
MAX_KEY = 128
MAX_STEP = 2**53 - 1
#: keys of an evaluation printed after training (Keras ``evaluate()``, HF ``evaluate()`` after ``train()``)
EVALUATE_PREFIX = "evaluate/"

_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_STEP_PREFIX = re.compile(
    r"^\W*(?P<key>step|iter|iteration|epoch|global[_ ]step)\s*[#:=]?\s*(?P<n>\d+)(?:\s*/\s*\d+)?\b", re.I
)
_KERAS_EPOCH = re.compile(r"^Epoch (?P<n>\d+)/\d+\s*$")
_KERAS_LINE = re.compile(r"^\s*\d+/\d+\s.*\s-\s[A-Za-z_][\w./-]*: ")
_HF_DICT = re.compile(r"^\s*\{\s*'[^']+'\s*:.*\}\s*$")
#: a tqdm meter: ``12/100 [00:01<00:08, 9.8it/s, loss=0.5]`` (or ``12it [...]`` without a total)
_TQDM = re.compile(r"(?P<n>\d+)(?:/\d+)?(?:it)? \[\d[^\]]*\]")
#: a tqdm redraw in the raw text; a bar below the first (HF's evaluation bar) moves the cursor back up after it
_TQDM_RAW = re.compile(r"(?P<clear>\r {8,}(?=\r|\n|$))|\|\s*(?P<n>\d+)/(?P<total>\d+) \[[^\]\n]*\](?P<up>\x1b\[A)?")
#: a Rich progress bar (Lightning's default when rich is installed): bar characters, then ``n/total``
_RICH = re.compile(r"[━╸╺]\S*\s+\d+/\d+\s")
_BAR_TAIL = 4096
_CLEAR = "\r" + " " * 8
_TRACEBACK = "Traceback (most recent call last):"
#: torchrun's per-rank prefix on a worker's error output
_RANK_PREFIX = re.compile(r"^\[(?:rank|default)\d+\]:\s?")
#: a glog record (torch's C++ and elastic launcher logs): level, date, time, thread, file:line]
_GLOG = re.compile(r"^[IWEF]\d{4} \d\d:\d\d:\d\d\.\d+\s+\d+ \S+:\d+\]")
#: what a line must hold to be looked at: a separator, a dict, a Keras epoch header or a traceback's start
_HINT = re.compile(r"[=:{]|Epoch|Traceback")
#: a warning or error message (``UserWarning:``, ``WARNING:``, ``ERROR ...``): its numbers are not metrics
_ADVICE = re.compile(r"\b(?:[A-Z]\w*(?:Warning|Error)|WARNING|ERROR|CRITICAL)\b")
_STEP_KEYS = ("step", "global_step", "iter", "iteration")
#: HF summary/eval dicts: logged at the step of the last training dict
_HF_TRAILING = ("eval_", "test_", "train_runtime", "train_samples_per_second", "train_steps_per_second")
_HF_SUMMARY = "train_runtime"


@dataclass(frozen=True, slots=True)
class ParsedPoint:
    """Metrics recognised in one line, at ``step``; ``digits``: each value's printed significant digits."""

    step: int
    metrics: dict[str, float]
    digits: dict[str, int] = field(default_factory=dict, compare=False)


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value


def _valid_step(value: float | None) -> bool:
    return value is not None and value.is_integer() and 0 <= value <= MAX_STEP


def _line_state(raw: str) -> str:
    """What a terminal shows of one line: the text after its last non-blank ``\\r`` redraw, without escapes."""
    text = _ANSI.sub("", raw)
    if "\r" in text:
        parts = [p for p in text.split("\r") if p.strip()]
        text = parts[-1] if parts else ""
    if "\b" in text:
        text = text.replace("\b", "")
    return _CONTROL.sub("", text).rstrip()  # leading blanks kept: they tell a traceback's body


@dataclass(slots=True)
class _PendingDict:
    """An HF log dict waiting for the training bar HF redraws after it (the bar's count is the global step)."""

    metrics: dict[str, float]
    digits: dict[str, int]
    fallback: int


class StreamGroup:
    """What the parsers of one program's streams share: HF writes its log dicts to stdout and redraws its
    training bar, whose count is the dict's step, on stderr. Parsers of one group must be fed in arrival order."""

    def __init__(self) -> None:
        self.hf_pending: _PendingDict | None = None
        #: the count of the latest redraw of a first-row tqdm bar (HF's training bar: the global step)
        self.bar_n: int | None = None
        self.bar_total: int | None = None
        #: tqdm.write clears the bar, writes, redraws: a clear was seen, and the count the redraw after it showed
        self.cleared = False
        self.write_n: int | None = None
        self.hf_trained = False


class MetricParser:
    """Recognises metrics in one output stream, fed in chunks of any size; see the module docstring.
    ``group``: shared with the parsers of the program's other streams (stdout and stderr)."""

    def __init__(self, group: StreamGroup | None = None) -> None:
        self._group = group if group is not None else StreamGroup()
        self._buf = ""
        self._in_traceback = False
        self._in_group = False
        self._after_bar = False
        self._keras_epoch: int | None = None
        self._keras_fresh = False
        self._hf_count = 0
        self._last_step: dict[str, int] = {}

    def feed(self, data: bytes | str) -> list[ParsedPoint]:
        """The points in the lines ``data`` finishes (a partial last line waits for its end or :meth:`finish`)."""
        text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
        out: list[ParsedPoint] = []
        *done, rest = text.split("\n")
        for piece in done:
            raw, self._buf = self._buf + piece, ""
            self._resolve_hf(piece, out)  # (only text that arrived after a waiting dict: this chunk's)
            if not self._in_traceback and not self._after_bar and _HINT.search(raw) is None:
                continue  # (most output: nothing that could start a metric or a traceback)
            out.extend(self._line(_line_state(raw[-MAX_LINE * 4 :])))
        self._buf += rest
        self._trim()
        self._resolve_hf(rest, out)  # (HF's bar after a dict is usually on a line still being drawn)
        return out

    def finish(self) -> list[ParsedPoint]:
        """The points in the unfinished last line, if any, and a dict still waiting for its step (the stream ended)."""
        raw, self._buf = self._buf, ""
        out = self._line(_line_state(raw))
        self._flush_hf(out)
        return out

    def _trim(self) -> None:
        if len(self._buf) > MAX_LINE * 4:  # a bar redrawn forever without a newline: keep its last redraw
            cut = self._buf.rfind("\r", 0, len(self._buf) - 1)
            self._buf = self._buf[cut + 1 :] if cut >= 0 else self._buf
            self._buf = self._buf[-MAX_LINE * 4 :]

    # ---- one line ----
    def _line(self, line: str) -> list[ParsedPoint]:
        if not line.strip():
            return []
        if line[0] == "[":
            line = _RANK_PREFIX.sub("", line)
        if line.endswith(_TRACEBACK):
            self._in_traceback = True
            self._in_group = self._in_group or line.lstrip().startswith("+ Exception Group")
            return []
        if self._in_group:  # an exception group's report: every line starts with its | and + frame
            if line.lstrip().startswith(("|", "+")):
                return []
            self._in_traceback = self._in_group = False  # (and this line is no longer part of it)
        elif self._in_traceback:
            if not line[:1].isspace() and not line.startswith(("File ", "^", "~")):
                self._in_traceback = False  # the exception line ends the traceback: not parsed either
            return []
        if self._after_bar and line[:8].isspace():
            return []  # a wrapped Rich bar's continuation (at 80 columns, each postfix field on its own line)
        self._after_bar = False
        line = line.lstrip()
        if len(line) > MAX_LINE or line.startswith("trainboard:") or _GLOG.match(line) or _ADVICE.search(line):
            return []
        if line[0] == "{" and _HF_DICT.match(line):
            return self._hf(line)
        m = _KERAS_EPOCH.match(line)
        if m:
            self._keras_epoch, self._keras_fresh = int(m.group("n")) - 1, True
            return []
        if self._keras_epoch is not None and _KERAS_LINE.match(line) and not _TQDM.search(line):
            return self._keras(line)
        bar = _TQDM.search(line) or _RICH.search(line)
        if bar is None:
            point = self._pairs(line)
            return [point] if point is not None else []
        out: list[ParsedPoint] = []
        if bar.re is _TQDM:  # values in a tqdm postfix count only at a step it names (tqdm never wraps: it trims)
            point = self._pairs(line[bar.start() : bar.end()].split(",", 1)[-1].rstrip("]"), need_step=True)
            out = [point] if point is not None else []
            rest = line[bar.end() :]
            if rest.strip():  # something printed on the bar's line, after it
                out.extend(self._line(rest))
        else:
            self._after_bar = True
        return out

    def _keras(self, line: str) -> list[ParsedPoint]:
        found = fields(line)
        if found is None or self._keras_epoch is None:
            return []
        if self._keras_fresh:
            self._keras_fresh = False
            return self._at(self._keras_epoch, found.values, found.digits)
        values = {EVALUATE_PREFIX + k: v for k, v in found.values.items()}
        step = self._evaluation_step(max(self._keras_epoch, 0), values)  # its own keys, at fit's last epoch
        return self._at(step, values, {EVALUATE_PREFIX + k: d for k, d in found.digits.items()})

    def _hf(self, line: str) -> list[ParsedPoint]:
        try:
            value = ast.literal_eval(line)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            return []
        if not isinstance(value, dict):
            return []
        metrics: dict[str, float] = {}
        digits: dict[str, int] = {}
        for key, v in value.items():
            if not isinstance(key, str) or not key or len(key) > MAX_KEY or isinstance(v, bool):
                continue
            if isinstance(v, str):
                number, text = _number(v), v
            elif isinstance(v, int | float):
                number, text = float(v), repr(v)
            else:
                continue
            if number is not None and not is_identifier(key):
                metrics[key] = number
                n = significant_digits(text)
                if n is not None:
                    digits[key] = n
        if not metrics:
            return []
        out: list[ParsedPoint] = []
        self._flush_hf(out)  # (a dict still waiting saw no redraw since: the last one seen is its step)
        step = metrics.pop("step", None)
        if _valid_step(step) and step is not None:
            out.extend(self._at(int(step), metrics, digits))
            return out
        group = self._group
        trailing = all(k.startswith(_HF_TRAILING) or k in ("epoch", "total_flos", "train_loss") for k in metrics)
        if not trailing or self._hf_count == 0:
            self._hf_count += 1
        after_training = group.hf_trained and all(k.startswith("eval_") or k == "epoch" for k in metrics)
        if after_training:  # an evaluate() after train(): its own keys, at the final global step
            metrics = {EVALUATE_PREFIX + k: v for k, v in metrics.items() if k != "epoch"}
            digits = {EVALUATE_PREFIX + k: d for k, d in digits.items()}
        if _HF_SUMMARY in value or after_training:  # (the next bar drawn is not the training bar)
            group.hf_trained = True
            step = group.bar_n if group.bar_n is not None else self._hf_count
            out.extend(self._at(self._evaluation_step(step, metrics) if after_training else step, metrics, digits))
            return out
        if group.write_n is not None:  # (the redraw after this write came first: on another terminal, as may be)
            out.extend(self._at(group.write_n, metrics, digits))
            group.write_n = None
            return out
        group.hf_pending = _PendingDict(metrics, digits, self._hf_count)
        return out

    def _resolve_hf(self, raw: str, out: list[ParsedPoint]) -> None:
        """Note the training bar's redraws in ``raw``; give a waiting HF dict the count of the first. The training
        bar is the first bar drawn on the first row; its total stays and its count never goes back (HF's
        evaluation bars are drawn on the row below, or after training, with other totals).

        HF writes a dict with ``tqdm.write``: clear the bar (stderr), the dict (stdout), redraw the bar (stderr).
        Two terminals deliver in no fixed order, so a redraw that follows a clear is also kept (``write_n``)
        for a dict that arrives after it."""
        if "/" not in raw and "\r " not in raw:
            return
        group = self._group
        if group.hf_pending is None:  # only the latest redraws matter then (a bar redrawn 1,000 times a chunk),
            clear = raw.rfind(_CLEAR)  # and the last clear with the redraw after it
            raw = raw[clear:] if clear >= 0 else raw[-_BAR_TAIL:]
        for bar in _TQDM_RAW.finditer(raw):
            if bar.group("clear"):
                group.cleared, group.write_n = True, None
                continue
            n, total = int(bar.group("n")), int(bar.group("total"))
            if bar.group("up") or (group.bar_total is not None and total != group.bar_total):
                continue
            if group.bar_n is not None and n < group.bar_n:
                continue
            group.bar_n, group.bar_total = n, total
            if group.hf_pending is not None:
                pending, group.hf_pending = group.hf_pending, None
                group.cleared = False
                out.extend(self._at(group.bar_n, pending.metrics, pending.digits))
            elif group.cleared:
                group.cleared, group.write_n = False, n

    def _flush_hf(self, out: list[ParsedPoint]) -> None:
        """The waiting dict at the last training-bar count seen; without a bar at all, its count of dicts."""
        group = self._group
        if group.hf_pending is not None:
            pending, group.hf_pending = group.hf_pending, None
            step = group.bar_n if group.bar_n is not None else pending.fallback
            out.extend(self._at(step, pending.metrics, pending.digits))

    def _pairs(self, line: str, *, need_step: bool = False) -> ParsedPoint | None:
        found = fields(line)
        if found is None:
            return None
        metrics, digits = dict(found.values), found.digits
        for key in _STEP_KEYS:
            step = metrics.get(key)
            if _valid_step(step) and step is not None:
                del metrics[key]
                return self._point(int(step), metrics, digits)
        if need_step:
            return None
        prefix = _STEP_PREFIX.match(line)
        if prefix:
            return self._point(int(prefix.group("n")), metrics, digits)
        epoch = metrics.get("epoch")
        if _valid_step(epoch) and epoch is not None:
            return self._point(int(epoch), metrics, digits)
        step_after = max((self._last_step.get(k, 0) for k in metrics), default=0) + 1
        return self._point(step_after, metrics, digits)

    def _evaluation_step(self, step: int, metrics: dict[str, float]) -> int:
        """``step`` for an evaluation after training, or one after the previous evaluation's when that one had it:
        a repeated ``evaluate()`` never lands on (and overwrites) the one before."""
        return max([step, *(self._last_step[k] + 1 for k in metrics if k in self._last_step)])

    def _point(self, step: int, metrics: dict[str, float], digits: dict[str, int]) -> ParsedPoint | None:
        points = self._at(step, metrics, digits)
        return points[0] if points else None

    def _at(self, step: int, metrics: dict[str, float], digits: dict[str, int]) -> list[ParsedPoint]:
        if not metrics or step > MAX_STEP:
            return []
        for key in metrics:
            self._last_step[key] = step
        return [ParsedPoint(step, metrics, {k: d for k, d in digits.items() if k in metrics})]


def parse_text(chunks: Iterable[bytes | str]) -> Iterator[ParsedPoint]:
    """Every point in a whole stream given as chunks (the last unfinished line included)."""
    parser = MetricParser()
    for chunk in chunks:
        yield from parser.feed(chunk)
    yield from parser.finish()
