"""The permission table: what every route of the app needs, derived from the app's own route list.

Secure by default: a route gets ``read`` (GET, HEAD, WebSocket) or ``write`` (any other method) unless it is
named in :data:`PUBLIC` or lies under an :data:`ADMIN_PREFIXES` path, and a request matching no route at all
(``/openapi.json`` is a plain Starlette route; 404s and 405s) gets the same default by method. So a route added
later is behind the gate without anyone remembering to put it there.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from fastapi.routing import APIRoute
from starlette.routing import BaseRoute, Route, WebSocketRoute, compile_path

from trainboard.server.auth.roles import ADMIN, READ, WRITE
from trainboard.server.http.asgi import Scope

#: Route names answered without credentials: the health check, the version, who am I, logging in, the web UI's
#: files (its page shows the login form).
PUBLIC = frozenset({"health", "version", "auth_me", "auth_login", "auth_exchange", "auth_logout", "spa"})
#: Routes any signed-in user may call whatever the method: each user manages their own tokens (the handler
#: keeps a token's scope within its creator's role, and other users' tokens to admins).
SELF_SERVICE = frozenset({"list_tokens", "create_token", "revoke_token"})
#: Routes a ``launch``-scoped token (level read) may reach whatever the method: launching and cancelling, whose
#: handlers then require the launch scope or an admin (``api/launch.py``).
LAUNCH_ROUTES = frozenset({"launch_run", "cancel_run"})
#: Path prefixes that only admins may use at all.
ADMIN_PREFIXES = ("/api/users", "/api/audit")
#: Routes outside those prefixes that only admins may use (a project's budget; its GET stays ``read``).
ADMIN_ROUTES = frozenset({"set_budget", "delete_budget"})
#: Routes a run-scoped token may use besides those of its run: creating that run (the handler checks the id).
RUN_SCOPED_EXTRA = frozenset({"create_run"})
#: Routes of its own run a run-scoped token may not use.
RUN_SCOPED_DENIED = frozenset({"delete_run"})
EVENT_STREAM = "text/event-stream"
_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Rule:
    name: str
    path: str
    regex: re.Pattern[str]
    methods: frozenset[str] | None  # None: a WebSocket route
    public: bool
    level: int
    stream: bool  # SSE or WebSocket: credentials are re-checked while it is open
    run_param: str | None  # "run_id" / "checkpoint_id": the path names a run (directly or by a checkpoint)
    run_scoped: bool  # a run-scoped token may use it (for its own run)


def default_level(scope: Scope) -> int:
    if scope["type"] == "websocket":
        return READ
    return READ if scope.get("method", "GET") in _READ_METHODS else WRITE


def _walk(routes: Iterable[BaseRoute], prefix: str = "") -> Iterator[tuple[str, BaseRoute]]:
    for route in routes:
        if isinstance(route, Route | WebSocketRoute):  # APIRoute is a Route
            yield prefix + route.path, route
            continue
        nested = getattr(route, "original_router", None)  # an included router (newer FastAPI)
        if nested is not None:
            context = getattr(route, "include_context", None)
            yield from _walk(nested.routes, prefix + str(getattr(context, "prefix", "") or ""))


def _media_types(route: BaseRoute) -> frozenset[str]:
    if not isinstance(route, APIRoute):
        return frozenset()
    return frozenset(t for r in route.responses.values() for t in r.get("content", {}))


def build_rules(routes: Iterable[BaseRoute]) -> list[Rule]:
    rules = []
    for path, route in _walk(routes):
        ws = isinstance(route, WebSocketRoute)
        methods = None if ws else frozenset(getattr(route, "methods", None) or {"GET"})
        name = getattr(route, "name", "") or ""
        if name in ADMIN_ROUTES or any(path == p or path.startswith(p + "/") for p in ADMIN_PREFIXES):
            level = ADMIN
        elif ws or name in SELF_SERVICE or name in LAUNCH_ROUTES or (methods is not None and methods <= _READ_METHODS):
            level = READ
        else:
            level = WRITE
        param = "run_id" if "{run_id}" in path else "checkpoint_id" if "{checkpoint_id}" in path else None
        rules.append(
            Rule(
                name=name,
                path=path,
                regex=compile_path(path)[0],
                methods=methods,
                public=name in PUBLIC,
                level=level,
                stream=ws or EVENT_STREAM in _media_types(route),
                run_param=param,
                run_scoped=(param is not None and name not in RUN_SCOPED_DENIED) or name in RUN_SCOPED_EXTRA,
            )
        )
    return rules


class RouteTable:
    """Finds the rule for a request the way the router finds the route: first path match of the right kind."""

    def __init__(self, routes: Iterable[BaseRoute]) -> None:
        self.rules = build_rules(routes)

    def match(self, scope: Scope) -> tuple[Rule | None, dict[str, str]]:
        path = scope.get("path", "")
        ws = scope["type"] == "websocket"
        method = scope.get("method", "GET")
        method = "GET" if method == "HEAD" else method
        for rule in self.rules:
            if (rule.methods is None) != ws:
                continue
            m = rule.regex.match(path)
            if m is None:
                continue
            if rule.methods is not None and method not in rule.methods:
                continue
            return rule, m.groupdict()
        return None, {}
