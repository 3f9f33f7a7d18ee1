"""Prometheus metrics of the server, safe with several worker processes.

With ``serve --workers N`` every process writes its values to files in ``$PROMETHEUS_MULTIPROC_DIR`` (the
supervisor sets it up) and ``/metrics``, on whichever process answers, adds them up across the live
processes: counters and histograms are summed, gauges of open connections and queue depths are summed over
the live processes (``livesum``), health gauges take the worst process (``livemin``). With one process the
default registry is used and nothing touches the disk.

``prometheus_client`` picks its storage when it is first imported, so the supervisor sets the variable
before anything imports this module (see ``server.workers``).

Names (all prefixed ``trainboard_``):

- ``http_requests_total{method,route,status}``, ``http_request_duration_seconds{method,route}``
- ``ingested_points_total``, ``ingested_log_bytes_total``: the ingest rate (``rate(...[1m])``)
- ``ingest_lag_seconds``: per metric batch, from the oldest point's client time to its commit
- ``write_queue_depth``: jobs waiting for the single writer (summed over processes)
- ``open_streams{kind="sse"|"websocket"}``: live connections held
- ``slow_clients_dropped_total``: subscribers whose bounded queue overflowed (lagged / closed 1013 / behind)
- ``subscriber_errors_total{subscriber}``, ``subscriber_dropped_total{subscriber}``: write-path subscribers
  (``server.ingest.subscribers``) that raised on a change, and changes not delivered to one (queue overflow)
- ``exported_total{sink}``, ``export_dropped_total{sink,reason}``, ``export_failed_total{sink}``: log
  export (``server.export``): records a sink accepted; records not sent (``buffer_full``: the sink was down or
  slow and its buffer overflowed, ``rejected``: the sink refused the batch, ``shutdown``); failed send attempts
- ``database_up``, ``redis_up``: 1 when the last check succeeded (``redis_up`` is absent without Redis)
- ``background_leader``: processes running the once-per-cluster jobs (1 when healthy)
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import cast

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

HTTP_REQUESTS = Counter("trainboard_http_requests_total", "HTTP requests answered", ["method", "route", "status"])
HTTP_DURATION = Histogram(
    "trainboard_http_request_duration_seconds",
    "Time to answer an HTTP request (streams: until the response starts)",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
POINTS = Counter("trainboard_ingested_points_total", "Metric points committed")
LOG_BYTES = Counter("trainboard_ingested_log_bytes_total", "Raw terminal bytes committed")
INGEST_LAG = Histogram(
    "trainboard_ingest_lag_seconds",
    "Per metric batch: from its oldest point's client time to the commit",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0),
)
WRITE_QUEUE = Gauge(
    "trainboard_write_queue_depth", "Write jobs waiting for the writer thread", multiprocess_mode="livesum"
)
OPEN_STREAMS = Gauge("trainboard_open_streams", "Open live streams by kind", ["kind"], multiprocess_mode="livesum")
SLOW_CLIENTS = Counter("trainboard_slow_clients_dropped_total", "Live subscribers whose bounded queue overflowed")
SUBSCRIBER_ERRORS = Counter(
    "trainboard_subscriber_errors_total", "Committed changes a write-path subscriber raised on", ["subscriber"]
)
SUBSCRIBER_DROPPED = Counter(
    "trainboard_subscriber_dropped_total",
    "Committed changes not delivered to a write-path subscriber (its queue overflowed, or at shutdown)",
    ["subscriber"],
)
EXPORTED = Counter("trainboard_exported_total", "Log records a log-export sink accepted", ["sink"])
EXPORT_DROPPED = Counter(
    "trainboard_export_dropped_total",
    "Log records not exported: buffer_full (sink down or slow), rejected (by the sink), shutdown",
    ["sink", "reason"],
)
EXPORT_FAILED = Counter("trainboard_export_failed_total", "Failed send attempts of a log-export sink", ["sink"])
DATABASE_UP = Gauge(
    "trainboard_database_up", "1 when the database answered the last check", multiprocess_mode="livemin"
)
_redis_up: list[Gauge] = []  # made on first use: a server without Redis has no such figure
LEADER = Gauge(
    "trainboard_background_leader",
    "Processes running the once-per-cluster background jobs",
    multiprocess_mode="livesum",
)


def set_redis_up(up: bool) -> None:
    """``trainboard_redis_up``: 1 when the live fan-out through Redis works (the worst process counts)."""
    if not _redis_up:
        _redis_up.append(
            Gauge("trainboard_redis_up", "1 when Redis is connected (live fan-out)", multiprocess_mode="livemin")
        )
    _redis_up[0].set(1 if up else 0)


def multiprocess() -> bool:
    return bool(os.environ.get(MULTIPROC_ENV))


def exposition() -> tuple[bytes, str]:
    """The metrics text and its content type, aggregated over every live process in multiprocess mode."""
    if multiprocess():
        from prometheus_client import multiprocess as mp

        registry = CollectorRegistry()
        collect = cast("Callable[[CollectorRegistry], object]", mp.MultiProcessCollector)  # untyped in some releases
        collect(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST
