"""How an HTTP sink's answer or failure becomes a ``SendError`` (shared by the Loki and OTLP sinks)."""

from __future__ import annotations

import httpx

from trainboard.server.export.runner import SendError

#: 4xx answers that mean "later" rather than "never": timeout, too many requests.
_RETRY_4XX = frozenset({408, 429})


def check_answer(status: int, body: str) -> None:
    """Raise ``SendError`` unless ``status`` is a success; 5xx, 408 and 429 are retried, other 4xx rejected."""
    if 200 <= status < 300:
        return
    retry = status >= 500 or status in _RETRY_4XX or status < 200
    raise SendError(f"HTTP {status}: {body.strip()[:300]}", retry=retry)


def transport_error(exc: httpx.HTTPError) -> SendError:
    """A connection refused, a timeout, a reset: always worth retrying."""
    return SendError(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
