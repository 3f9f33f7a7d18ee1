"""``GET /metrics`` (Prometheus text format).

Who may read it: the same as any other ``GET`` of the API. With authentication off (loopback, no users)
anyone who can reach the server; with it on, a ``read`` token (Prometheus: ``authorization: {credentials:
<token>}`` in the scrape config) or a signed-in user. The figures name no run and no user, but they tell
how busy the server is, so they are not public on an exposed server.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Response

from trainboard.server.lifecycle.gauges import refresh
from trainboard.server.observability import metrics
from trainboard.server.state import State

router = APIRouter(tags=["operations"])


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text exposition format"}},
)
async def prometheus_metrics(state: State) -> Response:
    """The server's Prometheus metrics, summed over every worker process (see
    ``trainboard.server.observability.metrics`` for the names). Needs ``read`` when authentication is on."""
    await asyncio.to_thread(refresh, state)
    body, content_type = await asyncio.to_thread(metrics.exposition)
    return Response(body, media_type=content_type)
