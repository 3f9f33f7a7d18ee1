"""OpenTelemetry: log records sent over OTLP/HTTP (protobuf) with the ``opentelemetry-sdk`` log exporter.

Each record is an OTLP log record: the line as its body, the level as severity (number and text), the labels
as attributes named ``trainboard.<label>`` (``trainboard.run``, ``trainboard.rank``, ...), a structured line's
fields as attributes named by their keys; the resource names the service (``service.name``). Collectors forward
them anywhere they export to — Elasticsearch and Splunk among them, through their OTLP ingestion.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

from opentelemetry._logs import LogRecord, SeverityNumber
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk._logs.export import LogRecordExportResult
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from trainboard.server.export.config import SinkConfig
from trainboard.server.export.records import Record
from trainboard.server.export.runner import SendError

__all__ = ["OtlpSink", "severity"]

#: The exporter's own logger says why an export failed; the runner reports it instead (once a minute).
logging.getLogger("opentelemetry.exporter.otlp.proto.http._log_exporter").setLevel(logging.CRITICAL)

_SEVERITIES = (
    (50, SeverityNumber.FATAL),
    (40, SeverityNumber.ERROR),
    (30, SeverityNumber.WARN),
    (25, SeverityNumber.INFO2),
    (20, SeverityNumber.INFO),
    (10, SeverityNumber.DEBUG),
)


def severity(level_no: int) -> SeverityNumber:
    """OTLP's severity number for a ``logging`` level (SUCCESS/NOTICE, 25, is INFO2)."""
    for floor, number in _SEVERITIES:
        if level_no >= floor:
            return number
    return SeverityNumber.TRACE


def _attribute(value: Any) -> Any:
    """An attribute value OTLP can carry: scalars as they are, anything else as JSON text."""
    if isinstance(value, str | bool | int | float):
        return value
    return json.dumps(value, default=str)


def attributes(record: Record, labels: Sequence[str]) -> dict[str, Any]:
    attrs: dict[str, Any] = {f"trainboard.{k}": record.labels[k] for k in labels if record.labels.get(k)}
    for key, value in record.fields.items():
        if value is not None:
            attrs.setdefault(str(key), _attribute(value))
    return attrs


class OtlpSink:
    """Sends batches to one collector (``endpoint``: the full logs URL, e.g. ``http://host:4318/v1/logs``)."""

    def __init__(self, config: SinkConfig) -> None:
        self.config = config
        self._resource = Resource.create({"service.name": config.service_name})
        self._scope = InstrumentationScope("trainboard.export")
        self._exporter = OTLPLogExporter(endpoint=config.endpoint, headers=dict(config.headers), timeout=config.timeout)

    def _log_record(self, record: Record) -> ReadableLogRecord:
        number = severity(record.level_no)
        return ReadableLogRecord(
            log_record=LogRecord(
                timestamp=record.time_ns,
                body=record.text,
                severity_number=number,
                severity_text=record.labels.get("level", number.name).upper(),
                attributes=attributes(record, self.config.labels),
            ),
            resource=self._resource,
            instrumentation_scope=self._scope,
        )

    def send(self, records: Sequence[Record]) -> None:
        result = self._exporter.export([self._log_record(r) for r in records])
        if result is not LogRecordExportResult.SUCCESS:
            # The exporter retries transient failures itself within ``timeout`` and says nothing more precise.
            raise SendError(f"OTLP export to {self.config.endpoint} failed (down, refusing, or answering an error)")

    def close(self) -> None:
        self._exporter.shutdown()  # type: ignore[no-untyped-call]  # untyped in the SDK
