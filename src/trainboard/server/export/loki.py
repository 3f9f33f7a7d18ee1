"""Grafana Loki: its documented push API, ``POST /loki/api/v1/push`` with a JSON body.

``{"streams": [{"stream": {label: value}, "values": [["<unix ns as a string>", "<line>"], ...]}]}``: one stream
per label set, entries oldest first within a stream (Loki before 2.4 refuses out-of-order entries; later ones
accept them, but order costs nothing). Label values are strings; a label with no value (a line without a rank)
is left out, as Loki treats an empty label as absent.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

from trainboard.server.export.config import SinkConfig
from trainboard.server.export.http_errors import check_answer, transport_error
from trainboard.server.export.records import Record

__all__ = ["PUSH_PATH", "LokiSink", "push_body"]

PUSH_PATH = "/loki/api/v1/push"


def push_body(records: Sequence[Record], labels: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    """The push API's JSON body for ``records``, each carrying the configured ``labels`` it has."""
    streams: dict[tuple[tuple[str, str], ...], list[tuple[int, str]]] = {}
    for record in records:
        key = tuple((name, record.labels[name]) for name in labels if record.labels.get(name))
        streams.setdefault(key, []).append((record.time_ns, record.text))
    return {
        "streams": [
            {"stream": dict(key), "values": [[str(ns), text] for ns, text in sorted(values, key=lambda v: v[0])]}
            for key, values in streams.items()
        ]
    }


class LokiSink:
    """Pushes batches to one Loki server (``endpoint`` is its base URL; ``headers`` e.g. ``X-Scope-OrgID``)."""

    def __init__(self, config: SinkConfig) -> None:
        self.config = config
        self.url = config.endpoint + PUSH_PATH
        self._client = httpx.Client(timeout=config.timeout, headers=dict(config.headers))

    def send(self, records: Sequence[Record]) -> None:
        try:
            answer = self._client.post(self.url, json=push_body(records, self.config.labels))
        except httpx.HTTPError as exc:
            raise transport_error(exc) from None
        check_answer(answer.status_code, answer.text)

    def close(self) -> None:
        self._client.close()
