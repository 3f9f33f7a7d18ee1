"""``GET /api/export/status``: the log-export sinks of this server process and how they are doing."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from trainboard.server.export.service import EXTRA_KEY, ExportService
from trainboard.server.state import State

router = APIRouter(tags=["operations"])


class SinkStatusOut(BaseModel):
    name: str
    type: str = Field(description="loki | otlp | syslog")
    endpoint: str = Field(description="Where it sends (without credentials or query)")
    exported: int = Field(description="Records the sink accepted")
    dropped: int = Field(description="Records dropped because the buffer was full (the sink was down or slow)")
    rejected: int = Field(description="Records the sink refused (an answer that sending again cannot change)")
    failed_attempts: int = Field(description="Send attempts that failed (each retried with backoff)")
    buffered: int = Field(description="Records waiting to be sent")
    max_buffer: int
    last_error: str | None
    last_error_at: float | None
    last_success_at: float | None
    retrying: bool = Field(description="A batch failed and is being retried")


class ExportStatusOut(BaseModel):
    config: str | None = Field(description="The exporters.toml in use; null: no log export configured")
    alerts_exported: bool = Field(
        description="Whether alert events are exported (not with serve --workers > 1: each process hears each alert)"
    )
    changes_missed: int = Field(description="Committed changes the exporter fell too far behind to receive")
    sinks: list[SinkStatusOut]
    process_only: bool = Field(
        True, description="The figures are this server process's (with --workers, /metrics sums all processes)"
    )


@router.get("/api/export/status", response_model=ExportStatusOut)
def export_status(state: State) -> dict[str, Any]:
    """The configured log-export sinks with what each exported, dropped and last failed with."""
    service = state.extras.get(EXTRA_KEY)
    if not isinstance(service, ExportService):
        return {"config": None, "alerts_exported": False, "changes_missed": 0, "sinks": []}
    return service.status()
