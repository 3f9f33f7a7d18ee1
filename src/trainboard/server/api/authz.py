"""Shared helpers of the auth routers: the auth layer's input errors as HTTP answers."""

from __future__ import annotations

from typing import NoReturn

from fastapi import HTTPException

from trainboard.server.api.errors import invalid
from trainboard.server.auth.accounts import AuthInputError


def raise_http(exc: AuthInputError) -> NoReturn:
    """400-class input problems become a 422 naming the body field; 404/409 keep their status."""
    if exc.status == 400:
        invalid(["body", exc.field or "body"], str(exc))
    raise HTTPException(status_code=exc.status, detail=str(exc)) from None
