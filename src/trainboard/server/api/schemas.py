"""HTTP shapes (pydantic), separate from the tables. Times go out as ISO 8601 UTC strings."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from trainboard.wire import ID_PATTERN, MAX_STEP

RunStatus = Literal["running", "completed", "failed", "interrupted"]

NONFINITE_DOC = (
    'Numbers, or the strings "NaN", "Infinity", "-Infinity" for non-finite values (the protobuf JSON '
    "mapping). A missing value is an absent key, never a NaN."
)


def inline_schema(model: type[BaseModel]) -> dict[str, Any]:
    """A model's JSON schema with its ``$defs`` inlined (for ``openapi_extra``, where ``#/$defs`` refs
    would not resolve)."""
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return resolve(defs[ref.removeprefix("#/$defs/")])
            return {k: resolve(v) for k, v in node.items()}
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node

    resolved: dict[str, Any] = resolve(schema)
    return resolved


def iso(ts: float | None) -> str | None:
    """Epoch seconds -> ISO 8601 UTC (``None`` stays ``None``)."""
    return None if ts is None else datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


class RunCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str | None = Field(
        None,
        pattern=ID_PATTERN,
        description="Client-made id (the SDK makes one); creating a run whose id exists returns the existing "
        "run, with this request's config keys merged into its config.",
    )
    name: str | None = Field(None, min_length=1, max_length=512)
    project: str = Field("default", min_length=1, max_length=256)
    config: dict[str, Any] = Field(default_factory=dict)
    status: RunStatus = "running"
    start_time: datetime | None = None


class RunUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=512)
    project: str | None = Field(None, min_length=1, max_length=256)
    config: dict[str, Any] | None = None
    status: RunStatus | None = None
    exit_code: int | None = None
    reason: str | None = Field(None, max_length=500, description="Why the status changes (kept in the event log)")


class RunPublic(BaseModel):
    id: str
    name: str
    project: str
    status: RunStatus
    config: dict[str, Any]
    start_time: str | None
    end_time: str | None
    exit_code: int | None
    heartbeat_time: str | None
    last_step: int | None
    log_size: int

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> RunPublic:
        return cls(
            id=row["id"],
            name=row["name"],
            project=row["project"],
            status=row["status"],
            config=row["config"],
            start_time=iso(row["start_time"]),
            end_time=iso(row["end_time"]),
            exit_code=row["exit_code"],
            heartbeat_time=iso(row["heartbeat_time"]),
            last_step=row["last_step"],
            log_size=row["log_size"],
        )


class RunList(BaseModel):
    runs: list[RunPublic]
    total: int


class MetricPointIn(BaseModel):
    """One step's values. (Documentation model: the server parses batches with a faster hand parser.)"""

    seq: int | None = Field(
        None,
        ge=0,
        description="Per-stream sequence number; a point whose seq the "
        "stream already committed is ignored, so re-sending a batch never duplicates.",
    )
    step: int | None = Field(
        None,
        ge=0,
        le=MAX_STEP,
        description="Integer in [0, 2**53-1]. Omitted: the "
        "run's last logged step + 1. A repeated step replaces the earlier value "
        "(last write wins, as a resumed run needs); a decreasing step is accepted.",
    )
    timestamp: float | None = Field(None, description="Epoch seconds; the server's time when omitted.")
    metrics: dict[str, float | Literal["NaN", "Infinity", "-Infinity"]] = Field(description=NONFINITE_DOC)


class MetricBatchIn(BaseModel):
    stream: str | None = Field(None, pattern=ID_PATTERN, description="Client stream id for seq dedupe.")
    points: list[MetricPointIn]


class MetricBatchResult(BaseModel):
    accepted: int = Field(description="Values written (new or replacing the same step).")
    duplicates: int = Field(description="Values ignored: their seq was already committed.")
    last_step: int | None


class SeriesOut(BaseModel):
    count: int = Field(description="Points stored for this key in the requested step range.")
    step: list[int]
    value: list[float | Literal["NaN", "Infinity", "-Infinity"]] = Field(description=NONFINITE_DOC)
    timestamp: list[float] = Field(description="Wall time of each point, epoch seconds.")
    downsampled: bool


class MetricHistory(BaseModel):
    run_id: str
    metrics: dict[str, SeriesOut]


class LatestPoint(BaseModel):
    step: int
    value: float | Literal["NaN", "Infinity", "-Infinity"]
    timestamp: float


class MetricLatest(BaseModel):
    run_id: str
    metrics: dict[str, LatestPoint]


class EventOut(BaseModel):
    id: int
    run_id: str
    time: str | None
    kind: str
    message: str
    data: dict[str, Any]


class EventList(BaseModel):
    events: list[EventOut]
