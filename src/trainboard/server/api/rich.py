"""Rich values per step (histograms, images, text, tables): the SDK's upload, the index, one value, a series, and
image bytes at their own URL (their stored content type, ``nosniff``, never a path from the client)."""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import math
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field, field_validator, model_validator

from trainboard.server.api.errors import invalid, not_found
from trainboard.server.api.schemas import EpochSeconds, InModel
from trainboard.server.ingest import rich as ingest_rich
from trainboard.server.state import AppState, State
from trainboard.server.store import rich as store
from trainboard.server.store import runs as runs_store
from trainboard.wire import MAX_JSON_INT, MAX_KEY_LENGTH, MAX_STEP, check_key
from trainboard.wire.floats import NAN_TOKEN, NEG_INF_TOKEN, POS_INF_TOKEN
from trainboard.wire.rich import (
    CONTENT_TYPES,
    MAX_BINS,
    MAX_CAPTION_CHARS,
    MAX_CELL_CHARS,
    MAX_IMAGE_BYTES,
    MAX_IMAGE_SIDE,
    MAX_TABLE_BYTES,
    MAX_TABLE_COLUMNS,
    MAX_TABLE_ROWS,
    MAX_TEXT_CHARS,
    MAX_VALUES_PER_REQUEST,
    image_format,
    image_size,
)

router = APIRouter(tags=["rich"])

Kind = Literal["histogram", "image", "text", "table"]
_FLOAT_TOKENS = frozenset({NAN_TOKEN, POS_INF_TOKEN, NEG_INF_TOKEN})


class HistogramIn(InModel):
    bin_edges: list[float] = Field(min_length=2, max_length=MAX_BINS + 1, description="Ascending, finite; counts + 1")
    counts: list[float] = Field(min_length=1, max_length=MAX_BINS, description=f"At most {MAX_BINS} bins, each >= 0")
    nonfinite: int = Field(0, ge=0, le=MAX_JSON_INT, description="NaN/infinite values left out of the bins")

    @model_validator(mode="after")
    def _bins(self) -> HistogramIn:
        if len(self.bin_edges) != len(self.counts) + 1:
            raise ValueError(f"bin_edges must have one more entry than counts ({len(self.counts) + 1})")
        if any(not math.isfinite(e) for e in self.bin_edges) or any(
            b < a for a, b in zip(self.bin_edges, self.bin_edges[1:], strict=False)
        ):
            raise ValueError("bin_edges must be finite and ascending")
        if any(not math.isfinite(c) or c < 0 for c in self.counts):
            raise ValueError("counts must be finite and not negative")
        return self


class ImageIn(InModel):
    format: Literal["png", "jpeg"]
    data: str = Field(
        min_length=1,
        max_length=(MAX_IMAGE_BYTES + 2) // 3 * 4,
        description=f"Base64 of the PNG/JPEG file: at most {MAX_IMAGE_BYTES} bytes, {MAX_IMAGE_SIDE} px a side",
    )
    width: int | None = Field(None, ge=1, le=MAX_IMAGE_SIDE, description="Informational: read from the file")
    height: int | None = Field(None, ge=1, le=MAX_IMAGE_SIDE, description="Informational: read from the file")


class TextIn(InModel):
    text: str = Field(max_length=MAX_TEXT_CHARS)


class ColumnIn(InModel):
    name: str = Field(min_length=1, max_length=256)
    type: Literal["str", "int", "float", "bool"]


Cell = str | int | float | bool | None


class TableIn(InModel):
    columns: list[ColumnIn] = Field(min_length=1, max_length=MAX_TABLE_COLUMNS)
    rows: list[list[Cell]] = Field(
        max_length=MAX_TABLE_ROWS,
        description=f"Each row one cell per column, of its type or null; a float cell may be {NAN_TOKEN!r}, "
        f"{POS_INF_TOKEN!r} or {NEG_INF_TOKEN!r}; text cells at most {MAX_CELL_CHARS} characters",
    )


class RichValueIn(InModel):
    key: str = Field(min_length=1, max_length=MAX_KEY_LENGTH)
    step: int = Field(ge=0, le=MAX_STEP)
    kind: Kind
    time: EpochSeconds | None = None
    caption: str | None = Field(None, max_length=MAX_CAPTION_CHARS)
    truncated: str | None = Field(None, max_length=4000, description="What the client cut or left out, said")
    histogram: HistogramIn | None = None
    image: ImageIn | None = None
    text: TextIn | None = None
    table: TableIn | None = None

    @field_validator("key")
    @classmethod
    def _key(cls, key: str) -> str:
        if (why := check_key(key)) is not None:
            raise ValueError(why)
        return key

    @model_validator(mode="after")
    def _one_body(self) -> RichValueIn:
        given = [k for k in ("histogram", "image", "text", "table") if getattr(self, k) is not None]
        if given != [self.kind]:
            raise ValueError(
                f"a value of kind {self.kind!r} carries the field {self.kind!r} and no other (got {given})"
            )
        return self


class RichUpload(InModel):
    values: list[RichValueIn] = Field(min_length=1, max_length=MAX_VALUES_PER_REQUEST)


class RichStored(BaseModel):
    key: str
    step: int
    kind: str


class RichUploadResult(BaseModel):
    stored: list[RichStored]


class RichKey(BaseModel):
    key: str
    kind: str = Field(description="histogram, image, text, table (mixed: the key changed kind between steps)")
    steps: list[int]


class RichIndex(BaseModel):
    keys: list[RichKey]


class RichValueOut(BaseModel):
    run_id: str
    key: str
    step: int
    kind: str
    time: float | None
    caption: str | None
    truncated: str | None = Field(description="What the client cut or left out (null: nothing)")
    histogram: dict[str, Any] | None = None
    image: dict[str, Any] | None = Field(None, description="format, width, height, size and the bytes' `url`")
    text: dict[str, Any] | None = None
    table: dict[str, Any] | None = None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> RichValueOut:
        kind = row["kind"]
        body = dict(row["payload"])
        if kind == "image":
            body |= {"size": row["size"], "url": f"/api/runs/{row['run_id']}/rich-images/{row['blob']}"}
        return cls(
            run_id=row["run_id"],
            key=row["key"],
            step=row["step"],
            kind=kind,
            time=row["time"],
            caption=row["caption"],
            truncated=row["truncated"],
            **{kind: body},
        )


class RichSeries(BaseModel):
    key: str
    total_steps: int = Field(description="Steps the key has; `values` holds at most `limit` of them, evenly spread")
    values: list[RichValueOut]


def _check_table(i: int, table: TableIn) -> None:
    size = len(json.dumps(table.rows, separators=(",", ":")))
    if size > MAX_TABLE_BYTES:
        invalid(
            ["body", "values", i, "table", "rows"], f"a table is at most {MAX_TABLE_BYTES} bytes as JSON, got {size}"
        )
    width = len(table.columns)
    types = [c.type for c in table.columns]
    for r, row in enumerate(table.rows):
        if len(row) != width:
            invalid(
                ["body", "values", i, "table", "rows", r], f"a row has one cell per column ({width}), got {len(row)}"
            )
        for c, cell in enumerate(row):
            if cell is None or _fits(cell, types[c]):
                continue
            invalid(["body", "values", i, "table", "rows", r, c], f"column {c} is {types[c]}, got {cell!r:.80}")


def _fits(cell: Cell, kind: str) -> bool:
    if kind == "str":
        return isinstance(cell, str) and len(cell) <= MAX_CELL_CHARS
    if kind == "bool":
        return isinstance(cell, bool)
    if kind == "int":
        return isinstance(cell, int) and not isinstance(cell, bool) and abs(cell) <= MAX_JSON_INT
    return (isinstance(cell, int | float) and not isinstance(cell, bool)) or cell in _FLOAT_TOKENS


def _decode_image(i: int, image: ImageIn) -> bytes:
    loc = ["body", "values", i, "image", "data"]
    try:
        data = base64.b64decode(image.data, validate=True)
    except (binascii.Error, ValueError):
        invalid(loc, "is not base64")
    fmt = image_format(data)
    if fmt is None:
        invalid(loc, "is not a PNG or JPEG file")
    if fmt != image.format:
        invalid(["body", "values", i, "image", "format"], f"says {image.format!r} but the data is {fmt!r}")
    if len(data) > MAX_IMAGE_BYTES:
        invalid(loc, f"an image is at most {MAX_IMAGE_BYTES} bytes")
    size = image_size(data)
    if size is None or not (min(size) >= 1 and max(size) <= MAX_IMAGE_SIDE):
        invalid(loc, f"an image is 1 to {MAX_IMAGE_SIDE} pixels a side (read {size} from its header)")
    return data


def _prepare(state: AppState, body: RichUpload) -> list[dict[str, Any]]:
    """The rows to store; image bytes written to their files (blocking: runs in a worker thread)."""
    out = []
    for i, v in enumerate(body.values):
        row: dict[str, Any] = {
            "key": v.key,
            "step": v.step,
            "kind": v.kind,
            "time": v.time,
            "caption": v.caption,
            "truncated": v.truncated,
        }
        if v.histogram is not None:
            row["payload"] = v.histogram.model_dump()
        elif v.text is not None:
            row["payload"] = {"text": v.text.text}
        elif v.table is not None:
            _check_table(i, v.table)
            row["payload"] = v.table.model_dump()
        elif v.image is not None:
            data = _decode_image(i, v.image)
            width, height = image_size(data) or (0, 0)
            row["payload"] = {"format": v.image.format, "width": width, "height": height}
            row["blob"] = store.write_blob(state.settings.data_dir, data)
            row["size"] = len(data)
        out.append(row)
    return out


@router.post("/api/runs/{run_id}/rich", response_model=RichUploadResult)
async def upload_rich(run_id: str, body: RichUpload, state: State) -> RichUploadResult:
    """Store histograms, images, text and tables at their steps (the SDK's upload). A value at a (key, step) the
    run already has replaces it: re-sending an upload stores nothing twice."""
    rows = await asyncio.to_thread(_prepare, state, body)
    stored = await ingest_rich.put(state, run_id=run_id, values=rows)
    if stored is None:
        not_found("run", run_id)
    return RichUploadResult(stored=[RichStored(key=r["key"], step=r["step"], kind=r["kind"]) for r in stored])


def _run_or_404(conn: Any, run_id: str) -> None:
    if runs_store.get_run(conn, run_id=run_id) is None:
        not_found("run", run_id)


@router.get("/api/runs/{run_id}/rich", response_model=RichIndex)
def rich_index(run_id: str, state: State) -> RichIndex:
    """Every rich key of the run with its kind and the steps it has a value at (all of them, ascending)."""
    with state.engines.reader.connect() as conn:
        _run_or_404(conn, run_id)
        keys = store.list_keys(conn, run_id=run_id)
    return RichIndex(keys=[RichKey(**k) for k in keys])


@router.get("/api/runs/{run_id}/rich-series/{key:path}", response_model=RichSeries)
def rich_series(
    run_id: str,
    key: str,
    state: State,
    limit: Annotated[int, Query(ge=1, le=1000, description="Values at most, spread evenly over the steps")] = 200,
) -> RichSeries:
    """Up to ``limit`` values of ``key`` spread over its steps (first and last included; ``total_steps`` says how
    many there are): a histogram-over-steps chart or an image strip in one request."""
    with state.engines.reader.connect() as conn:
        _run_or_404(conn, run_id)
        rows, total = store.series(conn, run_id=run_id, key=key, limit=limit)
    if not rows:
        not_found("rich key", key)
    return RichSeries(key=key, total_steps=total, values=[RichValueOut.from_row(r) for r in rows])


@router.get(
    "/api/runs/{run_id}/rich-images/{digest}",
    response_class=Response,
    responses={200: {"content": {"image/png": {}, "image/jpeg": {}}, "description": "The image file"}},
)
def rich_image(run_id: str, digest: Annotated[str, Path(pattern=r"^[0-9a-f]{64}$")], state: State) -> Response:
    """An image of the run by its SHA-256 (the ``url`` of an image value), with its own content type."""
    with state.engines.reader.connect() as conn:
        meta = store.has_blob(conn, run_id=run_id, digest=digest)
    if meta is None:
        not_found("image", digest)
    try:
        data = store.blob_path(state.settings.data_dir, digest).read_bytes()
    except OSError:
        not_found("image file", digest)
    return Response(
        data,
        media_type=CONTENT_TYPES.get(str(meta.get("format")), "application/octet-stream"),
        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=31536000, immutable"},
    )


@router.get("/api/runs/{run_id}/rich/{key:path}", response_model=RichValueOut)
def rich_value(
    run_id: str,
    key: str,
    state: State,
    step: Annotated[int | None, Query(ge=0, le=MAX_STEP, description="The step (default: the latest)")] = None,
) -> RichValueOut:
    """The value of ``key`` at ``step`` (a histogram's bins, an image's URL, a text, a table)."""
    with state.engines.reader.connect() as conn:
        _run_or_404(conn, run_id)
        row = store.get(conn, run_id=run_id, key=key, step=step)
    if row is None:
        not_found("rich value", key if step is None else f"{key}@{step}")
    return RichValueOut.from_row(row)
