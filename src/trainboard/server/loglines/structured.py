"""Structured log lines recognised by content: a JSON object or logfmt, no configuration.

Recognised (the first that applies):

* **JSON** — a line that is one JSON object with a level or message key: structlog's ``JSONRenderer``
  (``event``, ``level``, ``timestamp``, ``logger``), python-json-logger (``message``, ``levelname``,
  ``asctime``, ``name``), loguru ``serialize=True`` (``{"text": ..., "record": {...}}``: the record's
  message, level name and number, logger name, time, ``extra`` and where it was logged), and any
  ``{"level"|"levelname"|"severity", "msg"|"message"|"event", "timestamp"|"time"|"ts"|"asctime",
  "logger"|"name", ...}``. A JSON object with none of those keys (a metrics dict) stays a plain line, and
  so does malformed JSON.
* **logfmt** — a line made only of ``key=value`` pairs (values bare or double-quoted) with a ``level``,
  ``lvl``, ``msg`` or ``message`` key: ``level=info msg="loaded shard" step=5``.

The line's message becomes what the recognised message key holds (what a human reads); every key not used
for the timestamp, level, logger or message is kept in ``fields``. Nothing here changes the raw bytes: the
terminal view still shows the line as printed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from trainboard.server.loglines.level_names import level_number

__all__ = ["Structured", "parse_structured"]

_MESSAGE_KEYS = ("msg", "message", "event")
_LEVEL_KEYS = ("level", "levelname", "severity", "lvl", "log.level")
_LEVEL_NO_KEYS = ("levelno", "level_no", "severity_number")
_TIME_KEYS = ("timestamp", "time", "ts", "asctime", "@timestamp")
_LOGGER_KEYS = ("logger", "name", "logger_name")
#: Longest line tried as JSON / logfmt (a longer one stays plain: parsing it would cost more than it helps).
MAX_STRUCTURED = 65_536

_LOGFMT_PAIR = re.compile(r'([\w.\-/@]+)=("(?:[^"\\]|\\.)*"|[^\s"]*)')
_LOGFMT_LINE = re.compile(r'\s*(?:[\w.\-/@]+=(?:"(?:[^"\\]|\\.)*"|[^\s"]*)(?:\s+|$))+')
_LOGFMT_KEYS = ("level=", "lvl=", "msg=", "message=")


@dataclass(slots=True)
class Structured:
    """What a structured line says. ``level_no`` None: a level name of unknown value (or no level)."""

    message: str
    level: str | None
    level_no: int | None
    logger: str | None
    logged_at: float | None
    fields: dict[str, Any]
    format: str  # "json" | "logfmt"


def parse_structured(text: str) -> Structured | None:
    """The structured reading of one line (plain text, no newline), or None for a plain line."""
    if not text or len(text) > MAX_STRUCTURED:
        return None
    first = text[0]
    if first == "{" or (first in " \t" and text.lstrip()[:1] == "{"):
        return _json_line(text)
    if "=" in text and any(key in text for key in _LOGFMT_KEYS):
        return _logfmt_line(text)
    return None


def _json_line(text: str) -> Structured | None:
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError):
        return None
    if not isinstance(obj, dict):
        return None
    record = obj.get("record")
    if isinstance(record, dict) and isinstance(obj.get("text"), str) and "message" in record:
        return _loguru(record)
    return _mapping(obj, "json")


#: key -> (role, priority): for each role the key of lowest priority present wins
_ROLES: dict[str, tuple[str, int]] = {
    **{k: ("message", i) for i, k in enumerate(_MESSAGE_KEYS)},
    **{k: ("level", i) for i, k in enumerate(_LEVEL_KEYS)},
    **{k: ("level_no", i) for i, k in enumerate(_LEVEL_NO_KEYS)},
    **{k: ("time", i) for i, k in enumerate(_TIME_KEYS)},
    **{k: ("logger", i) for i, k in enumerate(_LOGGER_KEYS)},
}


def _mapping(obj: dict[str, Any], fmt: str) -> Structured | None:
    found: dict[str, tuple[int, str]] = {}
    for key in obj:
        role = _ROLES.get(key)
        if role is not None and (role[0] not in found or role[1] < found[role[0]][0]):
            found[role[0]] = (role[1], key)
    if "message" not in found and "level" not in found:
        return None  # a JSON object that is not a log record (a metrics dict, a config)
    used = set()
    message = level = number = None
    if "message" in found:
        used.add(found["message"][1])
        message = obj[found["message"][1]]
    if "level" in found:
        used.add(found["level"][1])
        level = obj[found["level"][1]]
    if "level_no" in found:
        used.add(found["level_no"][1])
        number = obj[found["level_no"][1]]
    if isinstance(level, dict):  # {"level": {"name": "INFO", "no": 20}}
        level, number = level.get("name"), level.get("no", number)  # type: ignore[union-attr]
    if isinstance(level, int | float) and not isinstance(level, bool):
        level, number = None, level
    named = level_number(None if level is None else str(level), number)
    logged_at = None
    if "time" in found:
        logged_at = _timestamp(obj[found["time"][1]])
        if logged_at is not None:
            used.add(found["time"][1])
    logger = None
    if "logger" in found and isinstance(obj[found["logger"][1]], str):
        used.add(found["logger"][1])
        logger = obj[found["logger"][1]][:200] or None
    return Structured(
        message=_text(message),
        level=named[0] if named else None,
        level_no=named[1] if named else None,
        logger=logger,
        logged_at=logged_at,
        fields={k: v for k, v in obj.items() if k not in used} if used else dict(obj),
        format=fmt,
    )


def _loguru(record: dict[str, Any]) -> Structured:
    lvl = record.get("level")
    named = level_number(lvl.get("name"), lvl.get("no")) if isinstance(lvl, dict) else level_number(None)
    when = record.get("time")
    fields: dict[str, Any] = {}
    extra = record.get("extra")
    if isinstance(extra, dict):
        fields.update(extra)
    for key in ("function", "line", "module"):
        if key in record and key not in fields:
            fields[key] = record[key]
    exc = record.get("exception")
    if exc:
        fields.setdefault("exception", exc)
    name = record.get("name")
    return Structured(
        message=_text(record.get("message")),
        level=named[0] if named else None,
        level_no=named[1] if named else None,
        logger=name[:200] if isinstance(name, str) and name else None,
        logged_at=_timestamp(when.get("timestamp")) if isinstance(when, dict) else None,
        fields=fields,
        format="json",
    )


def _logfmt_line(text: str) -> Structured | None:
    if _LOGFMT_LINE.fullmatch(text) is None:
        return None  # something that is not key=value: prose that mentions `level=`
    pairs: dict[str, Any] = {}
    for key, raw in _LOGFMT_PAIR.findall(text):
        if raw[:1] != '"':
            pairs[key] = _scalar(raw)
        elif "\\" not in raw:
            pairs[key] = raw[1:-1]
        else:
            try:
                pairs[key] = json.loads(raw)
            except ValueError:
                return None
    if not any(key in pairs for key in ("level", "lvl", "msg", "message")):
        return None  # `xlevel=...`: the hint matched inside another key
    return _mapping(pairs, "logfmt")


_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?")
_NUMBER_START = frozenset("-0123456789")


def _scalar(raw: str) -> Any:
    """A bare logfmt value: a number when it reads as one, true/false, else the text."""
    if raw[:1] in _NUMBER_START and _NUMBER.fullmatch(raw):
        return float(raw) if any(c in raw for c in ".eE") else int(raw)
    if raw in ("true", "false"):
        return raw == "true"
    return raw


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _timestamp(value: Any) -> float | None:
    """Epoch seconds of a record's time: a number (seconds, or milliseconds when that large) or ISO 8601
    text (``asctime``'s ``2024-01-01 12:00:00,123`` too; a time without a zone is taken as local time)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        seconds = float(value)
        if seconds > 1e14:  # microseconds / nanoseconds
            seconds /= 1e6 if seconds < 1e17 else 1e9
        elif seconds > 1e11:  # milliseconds
            seconds /= 1e3
        return seconds if 0 < seconds < 1e11 else None
    if isinstance(value, str) and 8 <= len(value) <= 40:
        try:
            return datetime.fromisoformat(value.replace(",", ".", 1) if "," in value else value).timestamp()
        except ValueError:
            return None
    return None
