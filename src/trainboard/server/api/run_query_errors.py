"""A query-language error as a 422 in FastAPI's shape: the parameter in ``loc``, the position in ``msg`` and
``ctx.position`` (0-based character offset)."""

from __future__ import annotations

from typing import NoReturn

from fastapi.exceptions import RequestValidationError

from trainboard.server.runs_query import QueryError


def query_error(exc: QueryError) -> NoReturn:
    raise RequestValidationError(
        [
            {
                "loc": ["query", exc.param],
                "msg": f"{exc.message} (at position {exc.position})",
                "type": "value_error",
                "ctx": {"position": exc.position},
            }
        ]
    )
