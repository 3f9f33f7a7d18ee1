"""``exporters.toml``: the sinks log export sends to, read once at start; a bad file stops the server with a
message naming the file, the sink and the field.

```toml
[sinks.loki]                                  # the table's key is the sink's name
type = "loki"                                 # loki | otlp | syslog
endpoint = "http://loki:3100"                 # loki: the server (/loki/api/v1/push is added); otlp: the full
                                              # logs URL (http://collector:4318/v1/logs); syslog: tcp://host:port
                                              # (octet-counted framing, RFC 6587) or udp://host:port
labels = ["project", "run", "rank", "level"]  # what each record carries: project run rank level stream kind
levels = ["warning", "error", "critical"]     # only these levels (default: all); or min_level = "warning"
projects = ["vision-*"]                       # only runs of these projects (shell patterns; default: all)
events = true                                 # run events (status changes, alerts) too (default true)
lines = true                                  # log lines (default true)
batch_size = 500                              # records per request at most
batch_interval = 1.0                          # seconds a record may wait for its batch to fill
max_buffer = 100000                           # records held for the sink at most; older ones dropped beyond
timeout = 10.0                                # seconds per request
headers = { "X-Scope-OrgID" = "team-a" }      # loki / otlp: extra request headers (a tenant, an auth token)
service_name = "trainboard"                   # otlp: the resource's service.name
app_name = "trainboard"                       # syslog: APP-NAME
facility = "user"                             # syslog: facility name (user, local0 ... local7, daemon)
```
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

__all__ = [
    "FACILITIES",
    "LABELS",
    "LEVELS",
    "SINK_TYPES",
    "ConfigError",
    "ExportConfig",
    "SinkConfig",
    "load_exporters",
]

SINK_TYPES = ("loki", "otlp", "syslog")
#: Labels a record may carry.
LABELS = ("project", "run", "rank", "level", "stream", "kind")
DEFAULT_LABELS = ("project", "run", "rank", "level")
#: Level names and their numeric values (Python ``logging``'s, with TRACE and SUCCESS/NOTICE).
LEVELS: dict[str, int] = {
    "trace": 5,
    "debug": 10,
    "info": 20,
    "success": 25,
    "notice": 25,
    "warning": 30,
    "error": 40,
    "critical": 50,
    "fatal": 50,
}
FACILITIES: dict[str, int] = {
    "kern": 0,
    "user": 1,
    "daemon": 3,
    "syslog": 5,
    **{f"local{i}": 16 + i for i in range(8)},
}
_KEYS = frozenset(
    {
        "type",
        "endpoint",
        "labels",
        "levels",
        "min_level",
        "projects",
        "events",
        "lines",
        "batch_size",
        "batch_interval",
        "max_buffer",
        "timeout",
        "headers",
        "service_name",
        "app_name",
        "facility",
    }
)


class ConfigError(ValueError):
    """``exporters.toml`` is malformed; the message names the file, the sink and the field."""


@dataclass(frozen=True)
class SinkConfig:
    """One sink as configured (validated)."""

    name: str
    type: str
    endpoint: str
    labels: tuple[str, ...] = DEFAULT_LABELS
    #: Level names to export (lower case); ``None``: every level at or above ``min_level``.
    levels: frozenset[str] | None = None
    min_level: int = 0
    projects: tuple[str, ...] = ()
    events: bool = True
    lines: bool = True
    batch_size: int = 500
    batch_interval: float = 1.0
    max_buffer: int = 100_000
    timeout: float = 10.0
    headers: Mapping[str, str] = field(default_factory=dict)
    service_name: str = "trainboard"
    app_name: str = "trainboard"
    facility: int = FACILITIES["user"]


@dataclass(frozen=True)
class ExportConfig:
    path: Path | None
    sinks: tuple[SinkConfig, ...] = ()


class _Sink:
    """Reads one ``[sinks.NAME]`` table, raising ``ConfigError`` that names file, sink and field."""

    def __init__(self, path: Path, name: str, table: Mapping[str, Any]) -> None:
        self.path, self.name, self.table = path, name, table

    def error(self, key: str, what: str) -> ConfigError:
        return ConfigError(f"{self.path}: [sinks.{self.name}] {key}: {what}")

    def get(self, key: str, kind: type | tuple[type, ...], default: Any, what: str) -> Any:
        value = self.table.get(key, default)
        if isinstance(value, bool) and kind not in (bool, (bool,)):
            raise self.error(key, what)
        if not isinstance(value, kind):
            raise self.error(key, what)
        return value

    def number(self, key: str, default: float, *, low: float, high: float, integer: bool = False) -> float:
        kind: tuple[type, ...] = (int,) if integer else (int, float)
        noun = "a whole number" if integer else "a number"
        value = self.get(key, kind, default, f"must be {noun} from {low:g} to {high:g}")
        if not low <= value <= high:
            raise self.error(key, f"must be {noun} from {low:g} to {high:g}, not {value}")
        return float(value)

    def names(self, key: str, allowed: Mapping[str, object] | tuple[str, ...] | None) -> tuple[str, ...] | None:
        raw = self.table.get(key)
        if raw is None:
            return None
        if not isinstance(raw, list) or not all(isinstance(x, str) and x for x in raw):
            raise self.error(key, "must be a list of names")
        if allowed is not None:
            for item in raw:
                if item.lower() not in allowed:
                    raise self.error(key, f"unknown {item!r} (known: {', '.join(allowed)})")
        return tuple(raw)

    def build(self) -> SinkConfig:
        for key in self.table:
            if key not in _KEYS:
                raise self.error(key, f"unknown field (known: {', '.join(sorted(_KEYS))})")
        kind = self.get("type", str, None, f"required, one of {', '.join(SINK_TYPES)}")
        if kind not in SINK_TYPES:
            raise self.error("type", f"must be one of {', '.join(SINK_TYPES)}, not {kind!r}")
        endpoint = self.get("endpoint", str, None, "required: the sink's URL")
        self._check_endpoint(kind, endpoint)
        labels = self.names("labels", LABELS)
        levels = self.names("levels", LEVELS)
        min_level_name = self.get("min_level", str, "trace", f"must be a level name ({', '.join(LEVELS)})").lower()
        if min_level_name not in LEVELS:
            raise self.error("min_level", f"unknown level {min_level_name!r} (known: {', '.join(LEVELS)})")
        headers = self.get("headers", dict, {}, "must be a table of header names to strings")
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items()):
            raise self.error("headers", "must be a table of header names to strings")
        facility = self.get("facility", str, "user", f"must be a facility name ({', '.join(FACILITIES)})")
        if facility not in FACILITIES:
            raise self.error("facility", f"unknown facility {facility!r} (known: {', '.join(FACILITIES)})")
        return SinkConfig(
            name=self.name,
            type=kind,
            endpoint=endpoint.rstrip("/") if kind == "loki" else endpoint,
            labels=tuple(x.lower() for x in labels) if labels is not None else DEFAULT_LABELS,
            levels=frozenset(x.lower() for x in levels) if levels is not None else None,
            min_level=LEVELS[min_level_name] if "min_level" in self.table else 0,  # unset: every line, level 0 too
            projects=self.names("projects", None) or (),
            events=self.get("events", bool, True, "must be true or false"),
            lines=self.get("lines", bool, True, "must be true or false"),
            batch_size=int(self.number("batch_size", 500, low=1, high=100_000, integer=True)),
            batch_interval=self.number("batch_interval", 1.0, low=0.01, high=3600),
            max_buffer=int(self.number("max_buffer", 100_000, low=1, high=100_000_000, integer=True)),
            timeout=self.number("timeout", 10.0, low=0.1, high=600),
            headers=dict(headers),
            service_name=self.get("service_name", str, "trainboard", "must be a string"),
            app_name=self._app_name(),
            facility=FACILITIES[facility],
        )

    def _app_name(self) -> str:
        name: str = self.get("app_name", str, "trainboard", "must be a string")
        if not 1 <= len(name) <= 48 or not all(33 <= ord(c) <= 126 for c in name):
            raise self.error("app_name", "must be 1 to 48 printable ASCII characters without spaces (RFC 5424)")
        return name

    def _check_endpoint(self, kind: str, endpoint: str) -> None:
        parts = urlsplit(endpoint)
        schemes = ("tcp", "udp") if kind == "syslog" else ("http", "https")
        if parts.scheme not in schemes or not parts.hostname:
            example = "tcp://host:514" if kind == "syslog" else "http://host:port"
            raise self.error("endpoint", f"must be a {' or '.join(schemes)} URL such as {example}, not {endpoint!r}")
        try:
            port = parts.port
        except ValueError:
            raise self.error("endpoint", f"bad port in {endpoint!r}") from None
        if kind == "syslog" and port is None:
            raise self.error("endpoint", f"needs a port ({parts.scheme}://{parts.hostname}:514)")


def load_exporters(path: Path | None) -> ExportConfig:
    """Read ``exporters.toml`` at ``path``; ``None`` is no export."""
    if path is None:
        return ExportConfig(path=None)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from None
    for key in raw:
        if key != "sinks":
            raise ConfigError(f"{path}: unknown top-level key {key!r} (sinks are [sinks.NAME] tables)")
    tables = raw.get("sinks", {})
    if not isinstance(tables, dict):
        raise ConfigError(f"{path}: sinks must be [sinks.NAME] tables")
    sinks = []
    for name, table in tables.items():
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: [sinks.{name}] must be a table")
        sinks.append(_Sink(path, name, table).build())
    return ExportConfig(path=path, sinks=tuple(sinks))
