"""HTTP shapes of projects, saved runs-table views and page layouts."""

from __future__ import annotations

import json
from typing import Annotated, Any

from pydantic import BaseModel, Field, field_validator

from trainboard.server.api.schemas import InModel, Tag
from trainboard.server.runs_query import QueryError, parse_filter
from trainboard.server.runs_query.parse import MAX_LENGTH
from trainboard.server.runs_query.sorting import parse_sort

#: Largest ``columns`` list and layout document, as JSON bytes.
MAX_COLUMNS_BYTES = 64 * 1024
MAX_LAYOUT_BYTES = 64 * 1024
ViewName = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f\x7f/]+$")]


def _json_size(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False).encode())


class ViewIn(InModel):
    filter: str = Field("", max_length=MAX_LENGTH, description="A filter expression (as `GET /api/runs?filter=`)")
    sort: str = Field("", max_length=200, description="A sort key (as `GET /api/runs?sort=`); empty: the default")
    columns: list[Any] = Field(
        default_factory=list,
        max_length=1000,
        description=f"The table's columns, as the UI keeps them (JSON, at most {MAX_COLUMNS_BYTES} bytes)",
    )

    @field_validator("filter")
    @classmethod
    def _filter_parses(cls, value: str) -> str:
        try:
            parse_filter(value)
        except QueryError as exc:
            raise ValueError(f"{exc.message} (at position {exc.position})") from None
        return value

    @field_validator("sort")
    @classmethod
    def _sort_parses(cls, value: str) -> str:
        if value.strip():
            try:
                parse_sort(value)
            except QueryError as exc:
                raise ValueError(f"{exc.message} (at position {exc.position})") from None
        return value

    @field_validator("columns")
    @classmethod
    def _columns_size(cls, value: list[Any]) -> list[Any]:
        if _json_size(value) > MAX_COLUMNS_BYTES:
            raise ValueError(f"columns take at most {MAX_COLUMNS_BYTES} bytes as JSON")
        return value


class ViewOut(BaseModel):
    project: str
    name: str
    filter: str
    sort: str
    columns: list[Any]
    created_by: str | None
    created_at: float
    updated_at: float


class ViewList(BaseModel):
    views: list[ViewOut]


class LayoutIn(InModel):
    layout: dict[str, Any] = Field(
        description=f"The page layout as the UI keeps it (panel sizes, collapsed panels, pinned charts); "
        f"a JSON object of at most {MAX_LAYOUT_BYTES} bytes"
    )

    @field_validator("layout")
    @classmethod
    def _layout_size(cls, value: dict[str, Any]) -> dict[str, Any]:
        if _json_size(value) > MAX_LAYOUT_BYTES:
            raise ValueError(f"a layout takes at most {MAX_LAYOUT_BYTES} bytes as JSON")
        return value


class LayoutOut(BaseModel):
    layout: dict[str, Any] | None = Field(description="null: none saved yet")
    updated_at: float | None


class ProjectOut(BaseModel):
    name: str
    runs: int
    last_start: float | None


class ProjectList(BaseModel):
    projects: list[ProjectOut]


class ProjectColumns(BaseModel):
    config_keys: list[str] = Field(description="Flattened config keys (nested keys joined by dots)")
    metric_keys: list[str]
    tags: list[str]


class TagsChange(InModel):
    add: list[Tag] = Field(default_factory=list, max_length=100)
    remove: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(default_factory=list, max_length=100)


class TagsOut(BaseModel):
    tags: list[str]
