"""HTTP shapes (pydantic), separate from the tables. Times go out as ISO 8601 UTC strings."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from trainboard.server.views import iso as iso  # re-exported: the routes format times with it
from trainboard.server.views import public_run
from trainboard.wire import (
    ID_PATTERN,
    MAX_BATCH_KEYS,
    MAX_EXIT_CODE,
    MAX_JSON_BYTES,
    MAX_JSON_DEPTH,
    MAX_JSON_INT,
    MAX_KEY_LENGTH,
    MAX_RUN_KEYS,
    MAX_STEP,
    MAX_TIME,
    MAX_YEAR,
    MIN_EXIT_CODE,
    MIN_TIME,
    MIN_YEAR,
    TIME_RANGE_DOC,
    check_text,
    clean_json,
)

RunStatus = Literal["queued", "running", "completed", "failed", "interrupted"]

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


#: Epoch seconds, finite, in the accepted range (a JSON number; ``true`` is not a number).
EpochSeconds = Annotated[
    float,
    Field(
        strict=True,
        ge=MIN_TIME,
        le=MAX_TIME,
        allow_inf_nan=False,
        description=f"Epoch seconds (UTC) in {TIME_RANGE_DOC}; the server's time when omitted.",
    ),
]


def _iso_text(value: object) -> object:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise ValueError(f"must be an ISO 8601 date-time string, got {type(value).__name__}")
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError(f"is not an ISO 8601 date-time: {value[:40]!r}") from None


def _in_time_range(value: datetime) -> datetime:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)  # documented: a time without an offset is UTC
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise ValueError(f"must be within {TIME_RANGE_DOC} (a year from {MIN_YEAR} to {MAX_YEAR})")
    return value


#: The years the server accepts, as a pattern on an ISO 8601 string (JSON Schema has no date bounds).
YEAR_PATTERN = r"^(197[1-9]|19[89][0-9]|2[01][0-9][0-9])-"

#: An ISO 8601 date-time string (no offset: UTC) within the accepted range.
IsoTime = Annotated[
    datetime,
    BeforeValidator(_iso_text),
    AfterValidator(_in_time_range),
    WithJsonSchema(
        {
            "type": "string",
            "format": "date-time",
            "pattern": YEAR_PATTERN,
            "description": f"ISO 8601 date-time (UTC when it has no offset), a year from {MIN_YEAR} to {MAX_YEAR}",
        }
    ),
]


def _query_time(value: object) -> object:
    if isinstance(value, str):
        try:
            seconds = float(value)
        except ValueError:
            return value  # an ISO 8601 string: pydantic parses it
        if not math.isfinite(seconds) or not 0 <= seconds <= MAX_TIME:
            raise ValueError(f"epoch seconds must be within 0 .. {MAX_TIME:.0f}")
        return datetime.fromtimestamp(seconds, UTC)
    return value


#: A time filter in a query: an ISO 8601 date-time or epoch seconds.
QueryTime = Annotated[
    datetime,
    BeforeValidator(_query_time),
    WithJsonSchema(
        {
            "anyOf": [{"type": "string", "format": "date-time"}, {"type": "number", "minimum": 0, "maximum": MAX_TIME}],
            "description": "ISO 8601 date-time, or epoch seconds",
        }
    ),
]

#: A metric key: 1-256 characters, no control characters.
METRIC_KEY_SCHEMA: dict[str, Any] = {"minLength": 1, "maxLength": MAX_KEY_LENGTH, "pattern": "^[^\\x00-\\x1f\\x7f]+$"}
METRIC_VALUE_SCHEMA: dict[str, Any] = {
    "anyOf": [{"type": "number"}, {"type": "string", "enum": ["NaN", "Infinity", "-Infinity"]}]
}


def _int_fields(model: type[BaseModel]) -> frozenset[str]:
    out = set()
    for name, field in model.model_fields.items():
        ann = field.annotation
        if ann is int or (int in get_args(ann) and float not in get_args(ann)):
            out.add(name)
    return frozenset(out)


JSON_DOC_RULES = (
    f"A JSON object nested at most {MAX_JSON_DEPTH} levels and at most {MAX_JSON_BYTES} bytes as JSON; text must be "
    'valid Unicode (no lone surrogates). Non-finite numbers are stored and returned as the strings "NaN", '
    '"Infinity", "-Infinity".'
)


#: A field's text may not hold U+0000: PostgreSQL's text type cannot store it (SQLite could, so the rule is the
#: same on both engines). Written into the schema of every plain text field.
NO_NUL_PATTERN = "^[^\\x00]*$"


def _declare_no_nul(schema: dict[str, Any], _model: type[BaseModel] | None = None) -> None:
    """Add :data:`NO_NUL_PATTERN` to the body's text fields that state no pattern of their own (the
    servable-text check below refuses a NUL in any of them)."""

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "string" and "pattern" not in node and "format" not in node and "enum" not in node:
                node["pattern"] = NO_NUL_PATTERN
            for key in ("anyOf", "oneOf"):
                for option in node.get(key, []):
                    visit(option)

    for prop in schema.get("properties", {}).values():
        visit(prop)


class InModel(BaseModel):
    """A request body: unknown fields refused, JSON types strict (``true`` is not a number, ``"1"`` not an
    integer), every string valid Unicode without NUL, every free-form object checked by
    :func:`trainboard.wire.clean_json` (so nothing is stored that could not be served back)."""

    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra=_declare_no_nul)

    @model_validator(mode="before")
    @classmethod
    def _integral_floats(cls, data: Any) -> Any:
        # JSON Schema's "integer" includes 3.0; strict mode alone would refuse it (and must refuse true and "3")
        if isinstance(data, dict):
            ints = _int_fields(cls)
            if any(type(data.get(k)) is float for k in ints):
                data = {k: int(v) if k in ints and type(v) is float and v.is_integer() else v for k, v in data.items()}
        return data

    @field_validator("*", mode="after")
    @classmethod
    def _servable(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, str):
            if (why := check_text(value)) is not None:
                raise ValueError(why)
            if "\x00" in value:
                raise ValueError(f"contains a NUL character (U+0000) at character {value.index(chr(0))}")
        elif isinstance(value, dict):
            return clean_json(value)
        return value


class RunCreate(InModel):
    id: str | None = Field(
        None,
        pattern=ID_PATTERN,
        description="Client-made id (the SDK makes one); creating a run whose id exists returns the existing "
        "run, with this request's config keys merged into its config.",
    )
    name: str | None = Field(None, min_length=1, max_length=512)
    project: str = Field("default", min_length=1, max_length=256)
    config: dict[str, Any] = Field(default_factory=dict, description=JSON_DOC_RULES)
    status: RunStatus = "running"
    start_time: IsoTime | None = None


#: A run tag: 1-64 characters, no commas, quotes, parentheses or control characters, no space at either end.
Tag = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        # no \s: JSON Schema's (ECMA) and pydantic's (Rust) regexes disagree on what it covers
        pattern=r"^[^ ,()'\"\x00-\x1f\x7f-\x9f]([^,()'\"\x00-\x1f\x7f-\x9f]*[^ ,()'\"\x00-\x1f\x7f-\x9f])?$",
        examples=["baseline"],
    ),
]
#: Longest run notes (Markdown), in characters.
MAX_NOTES = 100_000


class MetricSummary(BaseModel):
    """One metric of a run, maintained at ingest: the value at the highest step (``null`` when it is NaN),
    the minimum and maximum (NaN left out; ``null`` when every value is NaN), the points stored, the highest
    step. Infinite values travel as "Infinity" / "-Infinity"."""

    last: float | str | None
    min: float | str | None
    max: float | str | None
    count: int
    step: int | None


class RunUpdate(InModel):
    name: str | None = Field(None, min_length=1, max_length=512)
    project: str | None = Field(None, min_length=1, max_length=256)
    config: dict[str, Any] | None = Field(None, description="Replaces the config. " + JSON_DOC_RULES)
    status: RunStatus | None = None
    exit_code: int | None = Field(None, ge=MIN_EXIT_CODE, le=MAX_EXIT_CODE, description="A signed 32-bit integer")
    reason: str | None = Field(None, max_length=500, description="Why the status changes (kept in the event log)")
    tags: list[Tag] | None = Field(None, max_length=100, description="Replaces the run's tags")
    notes: str | None = Field(
        None, max_length=MAX_NOTES, pattern=r"^[^\x00]*$", description="Markdown (shown rendered, raw HTML not)"
    )
    archived: bool | None = Field(None, description="Archived runs are left out of lists unless a filter asks for them")


class RunCost(BaseModel):
    """What a run cost so far: its price × the hours from its launch to its end (to now while it runs)."""

    usd: float = Field(description="US dollars so far")
    usd_per_hour: float = Field(description="The run's price")
    source: str = Field(description="Where the price comes from (RunPod's costPerHr, a providers.toml rate)")
    hours: float = Field(description="Hours billed so far")
    live: bool = Field(description="The run has not ended: the cost grows until it does")
    billed_from: float = Field(
        description="Epoch seconds the price applies from (its launch): the cost at a time t is "
        "usd_per_hour x (t - billed_from) / 3600, as a chart's COST axis draws it"
    )


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
    created_by: str | None = Field(default=None, description="The user who created it (when authentication is on)")
    tags: list[str] = Field(default_factory=list)
    notes: str = Field("", description="Markdown")
    archived: bool = False
    summary: dict[str, MetricSummary] | None = Field(
        None, description="Metric summaries by key, in lists asked for them with `summary=`"
    )
    cost: RunCost | None = Field(None, description="What the run cost (null: no known price, never a guess)")
    status_reason: str | None = Field(
        None,
        description="Why the run has its status (in `GET /api/runs/{run_id}`): the latest status change's reason, "
        "or for a failed or interrupted run its failure diagnosis (the exception, OOM, NCCL error, signal)",
    )

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> RunPublic:
        public = public_run(row)  # the same shape live messages carry
        if row.get("summary") is not None:
            public["summary"] = row["summary"]
        if row.get("cost") is not None:
            public["cost"] = row["cost"]
        if row.get("status_reason") is not None:
            public["status_reason"] = row["status_reason"]
        return cls(**public)


class RunList(BaseModel):
    runs: list[RunPublic]
    total: int = Field(description="Runs matching the filter (all pages)")
    next_cursor: str | None = Field(None, description="Pass as `cursor` for the next page; null on the last page")


class MetricPointIn(BaseModel):
    """One step's values. (Documentation model: the server parses batches with a faster hand parser.)"""

    model_config = ConfigDict(extra="forbid")

    seq: int | None = Field(
        None,
        ge=0,
        le=MAX_JSON_INT,
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
    timestamp: EpochSeconds | None = None
    metrics: Annotated[
        dict[str, float | Literal["NaN", "Infinity", "-Infinity"]],
        WithJsonSchema(
            {
                "type": "object",
                "propertyNames": METRIC_KEY_SCHEMA,
                "additionalProperties": METRIC_VALUE_SCHEMA,
                "description": NONFINITE_DOC,
            }
        ),
    ]


class MetricBatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    stream: str | None = Field(None, pattern=ID_PATTERN, description="Client stream id for seq dedupe.")
    points: list[MetricPointIn] = Field(
        description=f"At most {MAX_BATCH_KEYS} distinct keys in one batch, {MAX_RUN_KEYS} per run (else 422 naming "
        "the limit)."
    )


class MetricBatchResult(BaseModel):
    accepted: int = Field(description="Values written (new or replacing the same step).")
    duplicates: int = Field(description="Values ignored: their seq was already committed.")
    last_step: int | None


class ParsedOrigin(BaseModel):
    """Where a series read from a recorded command's printed output came from, and how precise it is."""

    source: Literal["printed_text"] = "printed_text"
    significant_digits: int = Field(
        description="The most significant digits any of its values was printed with: values are that text, "
        "rounded, not the numbers the program computed."
    )


class SeriesOut(BaseModel):
    count: int = Field(description="Points stored for this key in the requested step range.")
    step: list[int]
    value: list[float | Literal["NaN", "Infinity", "-Infinity"]] = Field(description=NONFINITE_DOC)
    timestamp: list[float] = Field(description="Wall time of each point, epoch seconds.")
    downsampled: bool
    parsed: ParsedOrigin | None = Field(
        default=None,
        description="Set when `trainboard run` read this key from the command's printed output "
        "(the run's config `trainboard.parsed_digits`); null for logged values.",
    )


class RankSeriesOut(SeriesOut):
    """One rank's series of a key (``GET .../metrics?rank=all``)."""

    key: str
    rank: int


class MetricHistory(BaseModel):
    run_id: str
    metrics: dict[str, SeriesOut]
    rank: int | None = Field(None, description="The rank these series are of (`?rank=N`); null: rank 0's")
    per_rank: list[RankSeriesOut] | None = Field(
        None, description="With `rank=all`: every other rank's series, each named `key` with its `rank`"
    )


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


class ErrorMessage(BaseModel):
    """Every error answer: a sentence, or (422) the list of problems, each naming its field in ``loc``."""

    detail: str | list[dict[str, Any]]
