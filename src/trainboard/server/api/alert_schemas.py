"""HTTP shapes of the alert API (separate from the tables)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, field_validator
from pydantic.json_schema import SkipJsonSchema

from trainboard.server.api.schemas import InModel


class RuleIn(InModel):
    name: str = Field(min_length=1, max_length=256)
    project: str | None = Field(default=None, min_length=1, max_length=256, description="every run of a project")
    run_id: str | None = Field(default=None, min_length=1, max_length=64, description="or one run")
    condition: dict[str, Any] = Field(description='{"kind": ..., "key": ..., params}; defaults filled in')
    for_seconds: float = Field(default=0.0, ge=0, le=7 * 86400, description="pending period before firing")
    repeat_seconds: float | None = Field(default=None, ge=1, le=30 * 86400, description="re-notify while firing")
    channels: list[str] = Field(default_factory=list, max_length=20, description="Apprise or webhook+https URLs")
    enabled: bool = True


class RulePatch(InModel):
    """Only the fields given change. A rule cannot hold ``null`` in name, enabled or the periods: the schema
    does not offer it and a ``null`` sent is a 422 naming the field (``repeat_seconds: null`` ends repeating)."""

    name: Annotated[str, Field(min_length=1, max_length=256)] | SkipJsonSchema[None] = None
    enabled: bool | SkipJsonSchema[None] = None
    mute_seconds: Annotated[float, Field(ge=0, le=365 * 86400)] | SkipJsonSchema[None] = Field(
        default=None, description="silence; 0 unmutes"
    )
    for_seconds: Annotated[float, Field(ge=0, le=7 * 86400)] | SkipJsonSchema[None] = None
    repeat_seconds: float | None = Field(default=None, ge=1, le=30 * 86400)

    @field_validator("name", "enabled", "mute_seconds", "for_seconds", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:  # a default (left out) is not validated: only a null sent reaches here
            raise ValueError("may not be null: leave the field out to keep its value")
        return value


class RuleOut(BaseModel):
    id: int
    name: str
    project: str | None
    run_id: str | None
    condition: dict[str, Any]
    description: str
    for_seconds: float
    repeat_seconds: float | None
    channels: list[str] = Field(description="masked: a channel's secrets are never shown again")
    enabled: bool
    muted_until: float | None
    created_by: str | None
    created_at: float


class RuleList(BaseModel):
    rules: list[RuleOut]


DefaultKind = Literal["nan", "stall", "status"]
DEFAULT_KINDS: tuple[DefaultKind, ...] = ("nan", "stall", "status")


class DefaultsIn(InModel):
    project: str = Field(min_length=1, max_length=256)
    channels: list[str] = Field(default_factory=list, max_length=20)
    kinds: list[DefaultKind] = Field(default_factory=lambda: list(DEFAULT_KINDS))


class DeliveryOut(BaseModel):
    channel: str
    event: str
    status: str
    attempts: int
    last_error: str | None
    created_at: float
    sent_at: float | None


class AlertOut(BaseModel):
    id: int
    rule_id: int | None
    run_id: str | None
    key: str
    state: str = Field(description="firing | resolved | acknowledged")
    level: str
    title: str
    message: str
    value: float | str | None
    step: int | None
    started_at: float
    fired_at: float | None
    resolved_at: float | None
    acked_at: float | None
    acked_by: str | None
    deliveries: list[DeliveryOut]


class AlertList(BaseModel):
    alerts: list[AlertOut]
    total: int = Field(description="alerts matching in all (the list holds the newest `limit`)")


class ExplicitAlertIn(InModel):
    id: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="The client's id of this alert: a retry with the same id answers the alert already made "
        "and sends nothing again (the SDK sets one, so a request retried after a lost answer alerts once)",
    )
    title: str = Field(min_length=1, max_length=512)
    text: str = Field(default="", max_length=10_000)
    level: Literal["info", "warning", "error"] = "warning"


class TestResult(BaseModel):
    channel: str
    ok: bool
    error: str | None


class TestOut(BaseModel):
    results: list[TestResult]
