"""Liveness and version."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from trainboard._version import __version__
from trainboard.server.state import State

router = APIRouter(tags=["health"])


@router.get("/health")
def health(state: State) -> dict[str, Any]:
    """``{"status": "ok"}`` once the server accepts requests, with the database kind and the number of
    live subscriptions (SSE and WebSocket streams) this process holds."""
    return {
        "status": "ok",
        "database": state.engines.writer.dialect.name,
        "live_subscriptions": state.broker.subscriber_count(),
    }


@router.get("/api/version")
def version() -> dict[str, str]:
    return {"version": __version__, "api": "1"}
