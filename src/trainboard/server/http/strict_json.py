"""Strict JSON request bodies: UTF-8 only (else 422, like any body that is not JSON), and no object with the same
key twice (400 naming the key).

Python's ``json.loads`` on bytes guesses UTF-16 and UTF-32 as well, and keeps the last of two equal keys, so two
readers of one body (a proxy or a WAF, then this server) could disagree about what it says. This middleware
reads a JSON body once, before any route, refuses what is ambiguous, and hands the same bytes on. A body that
is merely not JSON is left to the route (its usual 422 naming the position).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from starlette.concurrency import run_in_threadpool

from trainboard.server.http.asgi import ASGIApp, Message, Receive, Scope, Send, header

_JSON_TYPES = (b"application/json",)
#: Bodies up to this size are checked on the event loop (well under a millisecond); larger ones in a thread.
INLINE_BYTES = 64 * 1024


class DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _value in pairs:
            if key in seen:
                raise DuplicateKey(key)
            seen.add(key)
    return result


@dataclass(frozen=True)
class Refusal:
    status: int
    message: str

    def body(self) -> bytes:
        """400: ``{"detail": message}``; 422 (not JSON text at all): a list like the routes' own body errors."""
        if self.status == 422:
            return json.dumps({"detail": [{"type": "json_invalid", "loc": ["body"], "msg": self.message}]}).encode()
        return json.dumps({"detail": self.message}).encode()


def problem(body: bytes) -> Refusal | None:
    """Why ``body`` (a JSON request body) must be refused, or ``None``: 422 for a body that is not UTF-8 text (as
    for any body that is not JSON), 400 naming the key for one that repeats a key."""
    if not body:
        return None
    if body.startswith((b"\xef\xbb\xbf", b"\xfe\xff", b"\xff\xfe")) or json.detect_encoding(body) != "utf-8":
        return Refusal(422, "the request body must be JSON in UTF-8 (without a byte order mark)")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Refusal(422, f"the request body is not valid UTF-8 (byte {exc.start}): JSON bodies must be UTF-8")
    try:
        json.loads(text, object_pairs_hook=_no_duplicates)
    except DuplicateKey as exc:
        return Refusal(400, f"duplicate key {exc.key[:100]!r} in the JSON body: each key may appear once per object")
    except (ValueError, RecursionError):
        return None  # not JSON at all: the route answers that with its own words
    return None


def is_json(scope: Scope) -> bool:
    ctype = (header(scope, b"content-type") or b"").split(b";")[0].strip().lower()
    return ctype in _JSON_TYPES or ctype.endswith(b"+json")


class StrictJSON:
    """Pure ASGI middleware; inside the body limit, so what it buffers is bounded."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") in ("GET", "HEAD", "OPTIONS") or not is_json(scope):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client left (or the body limit answered already)
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        # about as costly as parsing the body once (~40 ms per MB): big bodies are checked off the event loop
        refused = problem(body) if len(body) <= INLINE_BYTES else await run_in_threadpool(problem, body)
        if refused is not None:
            content = refused.body()
            headers = [(b"content-type", b"application/json"), (b"content-length", str(len(content)).encode())]
            await send({"type": "http.response.start", "status": refused.status, "headers": headers})
            await send({"type": "http.response.body", "body": content})
            return
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
