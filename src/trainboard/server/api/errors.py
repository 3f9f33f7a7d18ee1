"""Errors: every error body is JSON ``{"detail": ...}`` with a reason, whatever raised it.

4xx helpers for routers (422s name the field, in FastAPI's shape), and the handlers ``install`` puts on the
app: validation errors never echo a huge or unencodable input back, a body nested too deep for the JSON
parser is a 422, a chunked body over the limit a 413, a full disk a 507 with a message, anything else a JSON
500 (never a plain-text one).
"""

from __future__ import annotations

import errno
import logging
import re
from typing import Any, NoReturn

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response

from trainboard.wire import encode_float, repair_json

log = logging.getLogger(__name__)

#: Characters of a rejected input shown back in a 422 at most.
MAX_ECHO = 200


def not_found(what: str, ident: str) -> NoReturn:
    raise HTTPException(status_code=404, detail=f"{what} {ident!r} not found")


def invalid(loc: list[Any], msg: str) -> NoReturn:
    """Raise a 422 naming the field at ``loc`` (e.g. ``["query", "offset"]``)."""
    raise RequestValidationError([{"loc": loc, "msg": msg, "type": "value_error"}])


def _short(value: Any) -> Any:
    """A rejected input as a 422 may show it: small, JSON-encodable, valid Unicode."""
    if isinstance(value, float):
        return encode_float(value)
    if value is None or isinstance(value, bool | int):
        return value if not isinstance(value, int) or abs(value) < 2**63 else f"<integer of {len(str(value))} digits>"
    if isinstance(value, str | bytes):
        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
        text = str(repair_json(text))
        return text if len(text) <= MAX_ECHO else text[:MAX_ECHO] + f"... ({len(text)} characters)"
    if isinstance(value, dict | list | tuple):
        return f"<{type(value).__name__} of {len(value)} items>"
    return _short(str(value))


def clean_errors(errors: Any) -> list[dict[str, Any]]:
    """FastAPI/pydantic error dicts made safe to send: ``loc`` and ``msg`` as given (shortened), ``input`` and
    ``ctx`` values shortened."""
    out = []
    for err in list(errors)[:50]:
        item: dict[str, Any] = {
            "type": str(err.get("type", "value_error")),
            "loc": [p if isinstance(p, int) else _short(str(p)) for p in err.get("loc", ())],
            "msg": _short(str(err.get("msg", ""))),
        }
        if "input" in err:
            item["input"] = _short(err["input"])
        if isinstance(err.get("ctx"), dict):
            item["ctx"] = {str(k): _short(v) for k, v in err["ctx"].items()}
        out.append(item)
    return out


def _disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) says the disk or database is full."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, OSError) and cur.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        text = str(cur).lower()
        if "database or disk is full" in text or "no space left on device" in text:
            return True
        if type(cur).__name__ == "DiskFull":  # psycopg.errors.DiskFull (SQLSTATE 53100)
            return True
        cur = getattr(cur, "orig", None) or cur.__cause__ or cur.__context__
    return False


async def _validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    fixed = _literal_methods(request)
    if fixed and request.method not in fixed:
        # e.g. PATCH /api/alert-rules/defaults: the path names a fixed resource (POST only), not a rule id that
        # failed to parse as one: the method is what is wrong
        return JSONResponse(
            status_code=405, content={"detail": "Method Not Allowed"}, headers={"Allow": ", ".join(sorted(fixed))}
        )
    return JSONResponse(status_code=422, content={"detail": clean_errors(exc.errors())})


async def _http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    cause = exc.__cause__
    if exc.status_code == 400 and isinstance(cause, RecursionError):
        nested = [{"type": "json_invalid", "loc": ["body"], "msg": "JSON nested too deeply to parse"}]
        return JSONResponse(status_code=422, content={"detail": nested})
    if exc.status_code == 400 and getattr(cause, "status_code", None) == 413:
        return JSONResponse(status_code=413, content={"detail": str(getattr(cause, "detail", "body too large"))})
    headers = getattr(exc, "headers", None)
    if exc.status_code == 405:
        headers = {**(headers or {}), "Allow": ", ".join(_allowed_methods(request))}
    if exc.status_code in (204, 304) or exc.status_code < 200:
        return Response(status_code=exc.status_code, headers=headers)
    detail = exc.detail if isinstance(exc.detail, str | list | dict) else str(exc.detail)
    return JSONResponse({"detail": repair_json(detail)}, status_code=exc.status_code, headers=headers)


def _allowed_methods(request: Request) -> list[str]:
    """The methods the OpenAPI document gives for this path (FastAPI makes one route per method, and
    Starlette's 405 names only the first route's). A path written out in the document (``/api/alert-rules/
    defaults``) is that resource only, not also a value of a template beside it (``/api/alert-rules/{rule_id}``)."""
    fixed = _literal_methods(request)
    if fixed:
        return sorted(fixed)
    path = request.url.path
    methods: set[str] = set()
    for template, item in request.app.openapi().get("paths", {}).items():
        pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
        if re.fullmatch(pattern, path):
            methods |= {m.upper() for m in item if m in _HTTP_METHODS}
    return sorted(methods)


def _literal_methods(request: Request) -> set[str]:
    """The methods of the OpenAPI path equal to the request's path, letter for letter (empty: none is)."""
    item = request.app.openapi().get("paths", {}).get(request.url.path)
    return {m.upper() for m in item if m in _HTTP_METHODS} if item else set()


_HTTP_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})


async def _unexpected(request: Request, exc: Exception) -> Response:
    if _disk_full(exc):
        log.error("disk full while serving %s %s: %s", request.method, request.url.path, exc)
        return JSONResponse(
            status_code=507,
            content={
                "detail": "the server's disk is full: nothing was stored by this request; free space in the data "
                "directory (or the database's) and retry"
            },
        )
    return JSONResponse(
        status_code=500,
        content={"detail": f"internal server error ({type(exc).__name__}); the server log has the details"},
    )


async def _storage(request: Request, exc: Exception) -> Response:
    """Database and file errors, answered here rather than by the outermost handler (which re-raises, and
    uvicorn then drops the connection): a full disk is an expected condition, not a crash."""
    if not _disk_full(exc):
        log.error("error while serving %s %s", request.method, request.url.path, exc_info=exc)
    return await _unexpected(request, exc)


def install(app: FastAPI) -> None:
    """Put the JSON error handlers on ``app``."""
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(OSError, _storage)
    app.add_exception_handler(DBAPIError, _storage)
    app.add_exception_handler(Exception, _unexpected)
