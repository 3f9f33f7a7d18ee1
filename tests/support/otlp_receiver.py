"""A local OTLP/HTTP logs receiver, for tests: it decodes what an OpenTelemetry exporter sends with the
``opentelemetry-proto`` message classes, as a collector's ``otlp`` receiver does.

``POST /v1/logs`` with ``Content-Type: application/x-protobuf`` (optionally ``Content-Encoding: gzip``) carrying an
``ExportLogsServiceRequest``; answered ``200`` with an empty ``ExportLogsServiceResponse`` (protobuf). A body that
does not decode is a ``400``, another content type a ``415`` (the JSON encoding is not implemented here). Each log
record is kept in :attr:`OtlpReceiver.records` with its resource's and its own attributes as plain values.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from google.protobuf.message import DecodeError  # type: ignore[import-untyped]  # protobuf ships no stubs
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest, ExportLogsServiceResponse
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from tests.support.http_standin import StandInServer, reply

LOGS_PATH = "/v1/logs"


def plain(value: AnyValue) -> Any:
    """An ``AnyValue`` as a Python value."""
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [plain(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return attributes(value.kvlist_value.values)
    return getattr(value, kind)


def attributes(pairs: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kv in pairs:
        assert isinstance(kv, KeyValue)
        out[kv.key] = plain(kv.value)
    return out


@dataclass(frozen=True)
class LogRecord:
    resource: dict[str, Any]
    scope: str
    time_ns: int
    severity_number: int
    severity_text: str
    body: Any
    attributes: dict[str, Any]


@dataclass
class OtlpReceiver(StandInServer):
    records: list[LogRecord] = field(default_factory=list)
    requests: int = 0

    def __post_init__(self) -> None:
        StandInServer.__init__(self, _Handler, "otlp-receiver")

    @property
    def endpoint(self) -> str:
        return self.url + LOGS_PATH

    def bodies(self) -> list[Any]:
        with self.lock:
            return [r.body for r in self.records]


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_POST(self) -> None:
        receiver: OtlpReceiver = self.server.standin  # type: ignore[attr-defined]
        receiver.wait_open()
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path != LOGS_PATH:
            reply(self, 404, b"not found")
            return
        if (self.headers.get("Content-Type") or "").split(";")[0].strip() != "application/x-protobuf":
            reply(self, 415, b"this receiver speaks application/x-protobuf")
            return
        request = ExportLogsServiceRequest()
        try:
            if (self.headers.get("Content-Encoding") or "").lower() == "gzip":
                raw = gzip.decompress(raw)
            request.ParseFromString(raw)
        except (DecodeError, OSError) as exc:
            reply(self, 400, f"cannot decode ExportLogsServiceRequest: {exc}".encode())
            return
        got = []
        for resource_logs in request.resource_logs:
            resource = attributes(resource_logs.resource.attributes)
            for scope_logs in resource_logs.scope_logs:
                for rec in scope_logs.log_records:
                    got.append(
                        LogRecord(
                            resource=resource,
                            scope=scope_logs.scope.name,
                            time_ns=rec.time_unix_nano,
                            severity_number=rec.severity_number,
                            severity_text=rec.severity_text,
                            body=plain(rec.body),
                            attributes=attributes(rec.attributes),
                        )
                    )
        with receiver.lock:
            receiver.records.extend(got)
            receiver.requests += 1
        reply(self, 200, ExportLogsServiceResponse().SerializeToString(), "application/x-protobuf")


@contextmanager
def otlp_receiver() -> Iterator[OtlpReceiver]:
    """A running receiver on a free loopback port; exporters send to ``.endpoint``."""
    with OtlpReceiver() as receiver:
        yield receiver
