"""A local stand-in for Grafana Loki's push API, for tests: no Loki server is packaged for these machines (Debian's
``loki`` is an unrelated genetics program) and the network cannot reach one.

It answers ``POST /loki/api/v1/push`` as Loki documents it (grafana.com/docs/loki/latest/reference/loki-http-api/
#ingest-logs): a JSON body (``Content-Type: application/json``, optionally ``Content-Encoding: gzip``)
``{"streams": [{"stream": {"label": "value", ...}, "values": [["<unix epoch in nanoseconds>", "<log line>"], ...]}]}``
(a value may carry a third element, an object of structured metadata), answered ``204 No Content``. What Loki
refuses is refused here with its ``400`` and a message: another content type (the protobuf+snappy form is not
implemented here: 415), a body that is not that shape, a stream without labels, a label name that is not
``[a-zA-Z_][a-zA-Z0-9_]*`` or starts with ``__`` (reserved), a label value that is not a string, a timestamp that is
not a string of digits, a line that is not a string, and — strictly, as Loki before 2.4 and any Loki with
``unordered_writes: false`` — entries out of order within a stream of one push. Every accepted entry is kept in
:attr:`LokiStandIn.entries`; refused pushes in :attr:`LokiStandIn.refused`.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.support.http_standin import StandInServer, reply

PUSH_PATH = "/loki/api/v1/push"
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


@dataclass(frozen=True)
class Entry:
    labels: dict[str, str]
    time_ns: int
    line: str
    metadata: dict[str, str] | None = None


class PushError(ValueError):
    pass


def parse_push(body: Any) -> list[Entry]:
    """The entries of a push body, or ``PushError`` saying what Loki would refuse."""
    if not isinstance(body, dict) or not isinstance(body.get("streams"), list):
        raise PushError('the body must be {"streams": [...]}')
    entries: list[Entry] = []
    for i, stream in enumerate(body["streams"]):
        if not isinstance(stream, dict) or not isinstance(stream.get("stream"), dict):
            raise PushError(f"streams[{i}]: needs a 'stream' object of labels")
        labels = stream["stream"]
        if not labels:
            raise PushError(f"streams[{i}]: error at least one label pair is required per stream")
        for name, value in labels.items():
            if not _LABEL_NAME.fullmatch(name) or name.startswith("__"):
                raise PushError(f"streams[{i}]: invalid label name {name!r}")
            if not isinstance(value, str):
                raise PushError(f"streams[{i}]: label {name!r} must have a string value, not {value!r}")
        values = stream.get("values")
        if not isinstance(values, list) or not values:
            raise PushError(f"streams[{i}]: 'values' must be a non-empty list")
        last = -1
        for j, value in enumerate(values):
            if not isinstance(value, list) or len(value) not in (2, 3):
                raise PushError(f"streams[{i}].values[{j}]: must be [timestamp, line] or [timestamp, line, metadata]")
            ts, line = value[0], value[1]
            if not isinstance(ts, str) or not ts.isdigit():
                raise PushError(f"streams[{i}].values[{j}]: the timestamp must be a string of nanoseconds, not {ts!r}")
            if not isinstance(line, str):
                raise PushError(f"streams[{i}].values[{j}]: the line must be a string")
            metadata = value[2] if len(value) == 3 else None
            if metadata is not None and not (
                isinstance(metadata, dict) and all(isinstance(v, str) for v in metadata.values())
            ):
                raise PushError(f"streams[{i}].values[{j}]: structured metadata must map names to strings")
            if int(ts) < last:
                raise PushError(f"streams[{i}].values[{j}]: entry out of order ({ts} after {last})")
            last = int(ts)
            entries.append(Entry(dict(labels), int(ts), line, metadata))
    return entries


@dataclass
class LokiStandIn(StandInServer):
    entries: list[Entry] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    pushes: int = 0
    headers: list[dict[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        StandInServer.__init__(self, _Handler, "loki-standin")

    def lines(self) -> list[str]:
        with self.lock:
            return [e.line for e in self.entries]


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        """``GET /stats``: ``{"entries": N, "pushes": N, "refused": N}`` (for a stand-in in another process)."""
        standin: LokiStandIn = self.server.standin  # type: ignore[attr-defined]
        if self.path != "/stats":
            reply(self, 404, b"404 page not found\n")
            return
        with standin.lock:
            stats = {"entries": len(standin.entries), "pushes": standin.pushes, "refused": len(standin.refused)}
        reply(self, 200, json.dumps(stats).encode(), "application/json")

    def do_POST(self) -> None:
        standin: LokiStandIn = self.server.standin  # type: ignore[attr-defined]
        standin.wait_open()
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path != PUSH_PATH:
            reply(self, 404, b"404 page not found\n")
            return
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if content_type != "application/json":
            reply(self, 415, f"unsupported Content-Type {content_type!r} (this stand-in speaks JSON)".encode())
            return
        try:
            if (self.headers.get("Content-Encoding") or "").lower() == "gzip":
                raw = gzip.decompress(raw)
            entries = parse_push(json.loads(raw))
        except (ValueError, OSError) as exc:
            with standin.lock:
                standin.refused.append(str(exc))
            reply(self, 400, f"{exc}\n".encode())
            return
        with standin.lock:
            standin.entries.extend(entries)
            standin.pushes += 1
            standin.headers.append({k.lower(): v for k, v in self.headers.items()})
        reply(self, 204)


def main() -> None:
    """``python -m tests.support.loki_standin PORT``: serve until killed (the benchmark's separate process)."""
    import sys
    import time

    standin = LokiStandIn()
    standin.port = int(sys.argv[1])
    standin.start()
    while True:
        time.sleep(3600)


@contextmanager
def loki_standin() -> Iterator[LokiStandIn]:
    """A running stand-in on a free loopback port (``.url`` is what ``endpoint`` names)."""
    with LokiStandIn() as standin:
        yield standin


if __name__ == "__main__":
    main()
