"""Log export: a run's lines and events forwarded live to Grafana Loki, an OpenTelemetry collector (OTLP/HTTP)
and syslog (RFC 5424), configured in ``exporters.toml`` (``config``).

One write-path subscriber (``service.ExportService``) turns committed changes into ``records.Record``\\ s and
offers them to each sink's runner (``runner.SinkRunner``): a bounded buffer drained by the sink's own thread,
in batches, with retries and exponential backoff. The subscriber only appends to buffers, so a down or slow sink
never slows ingest; what overflows is dropped and counted (``/metrics``, ``GET /api/export/status``, a warning
on the server log at most once a minute).
"""
