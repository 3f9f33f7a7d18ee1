"""Error helpers: every 4xx body is ``{"detail": ...}``, 422s name the field (FastAPI's shape)."""

from __future__ import annotations

from typing import Any, NoReturn

from fastapi import HTTPException
from fastapi.exceptions import RequestValidationError


def not_found(what: str, ident: str) -> NoReturn:
    raise HTTPException(status_code=404, detail=f"{what} {ident!r} not found")


def invalid(loc: list[Any], msg: str) -> NoReturn:
    """Raise a 422 naming the field at ``loc`` (e.g. ``["query", "offset"]``)."""
    raise RequestValidationError([{"loc": loc, "msg": msg, "type": "value_error"}])
