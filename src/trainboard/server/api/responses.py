"""The error answers every operation can give, declared in the OpenAPI document so that it states every
status code the server sends (a client generated from it, and schemathesis' conformance check, rely on that).

Route-specific codes (409, 403 outside the checkpoint roots, ...) are declared on the routes themselves;
the ones that come from the shared machinery (validation, the request guard, the writer) are added here to
every operation they apply to.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from trainboard.wire import MAX_BODY_BYTES

_ERROR_REF = {"$ref": "#/components/schemas/ErrorMessage"}

ERROR_SCHEMA: dict[str, Any] = {
    "title": "ErrorMessage",
    "type": "object",
    "properties": {
        "detail": {
            "description": "Why: a sentence, or (422) a list of problems, each naming its field in `loc`",
            "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "object"}}],
        }
    },
    "required": ["detail"],
}

_WRITES = frozenset({"post", "put", "patch", "delete"})

#: status -> description, and when it applies: "any", "path" (has path parameters), "input" (parameters or a
#: body), "body" (has a request body), "write" (POST/PUT/PATCH/DELETE), "stream" (an event stream).
COMMON: dict[str, tuple[str, str]] = {
    "400": ("any", "Malformed request: a Host header this server does not answer to, or an unreadable body"),
    "408": ("any", "The request's headers or body did not arrive in time"),
    "401": ("any", "Authentication is on and the request has no valid credentials (a token, a session)"),
    "403": (
        "any",
        "Refused: too low a role or token scope (or a run-scoped token outside its run), a cross-site request "
        "(foreign Origin or Sec-Fetch-Site), or a write without Content-Type: application/json or X-Trainboard: 1",
    ),
    "404": ("path", "No such run or checkpoint (the detail names it)"),
    "413": ("body", f"The body is over {MAX_BODY_BYTES} bytes, or over a documented limit (keys per batch, ...)"),
    "415": ("body", "The body is not application/json"),
    "422": ("input", "A parameter or body field is invalid: `detail` lists each problem with its `loc`"),
    "429": ("stream", "Too many open streams from this client address (see Retry-After)"),
    "503": ("stream", "Too many open streams in total (see Retry-After)"),
    "507": ("write", "The server's disk is full: nothing was stored; retry after space is freed"),
}


def _applies(rule: str, path: str, method: str, op: dict[str, Any]) -> bool:
    if rule == "any":
        return True
    if rule == "path":
        return "{" in path
    if rule == "input":
        return bool(op.get("parameters") or op.get("requestBody"))
    if rule == "body":
        return "requestBody" in op
    if rule == "write":
        return method in _WRITES
    if rule == "stream":
        content = op.get("responses", {}).get("200", {}).get("content", {})
        return "text/event-stream" in content
    raise ValueError(rule)


def add_common_errors(schema: dict[str, Any]) -> dict[str, Any]:
    """Declare the shared error statuses on every operation of ``schema`` (in place; returned)."""
    schema.setdefault("components", {}).setdefault("schemas", {})["ErrorMessage"] = ERROR_SCHEMA
    for path, item in schema.get("paths", {}).items():
        for method, op in item.items():
            if not isinstance(op, dict) or "responses" not in op:
                continue
            responses = op["responses"]
            for status, (rule, description) in COMMON.items():
                if status in responses or not _applies(rule, path, method, op):
                    continue
                responses[status] = {
                    "description": description,
                    "content": {"application/json": {"schema": _ERROR_REF}},
                }
    return schema


def install(app: FastAPI) -> None:
    """Make ``app.openapi()`` declare the shared error statuses."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = add_common_errors(
                get_openapi(
                    title=app.title,
                    version=app.version,
                    openapi_version=app.openapi_version,
                    description=app.description,
                    routes=app.routes,
                )
            )
        return app.openapi_schema

    setter: Callable[[], dict[str, Any]] = openapi
    app.openapi = setter  # type: ignore[method-assign]
