"""The gate: one pure ASGI middleware in front of every route (REST, SSE, WebSockets, downloads, docs).

Each request is matched against the permission table (``policy``) built from the app's own routes, its
credentials resolved (``credentials``), and it is answered 401 (no or bad credentials) or 403 (too low a role or
scope; a run-scoped token outside its run) before any route code runs. WebSocket handshakes are refused before
they are accepted. Streams stay watched: every ``stream_recheck_seconds`` the credentials are checked again,
and a revoked token, an ended session or a disabled user closes the stream (WebSocket close 1008; an SSE
response ends).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from starlette.concurrency import run_in_threadpool

from trainboard.server.auth import accounts
from trainboard.server.auth.credentials import Outcome, Presented, presented, resolve
from trainboard.server.auth.identity import LOCAL, NOBODY, SCOPE_KEY, Identity
from trainboard.server.auth.mode import AuthMode
from trainboard.server.auth.policy import RouteTable, Rule, default_level
from trainboard.server.auth.proxy import parse_networks, peer_trusted
from trainboard.server.auth.roles import LEVEL_NAMES
from trainboard.server.http.asgi import ASGIApp, Message, Receive, Scope, Send, refuse
from trainboard.server.http.forwarded import tcp_peer
from trainboard.server.settings import Settings
from trainboard.server.store import auth_sessions, auth_tokens
from trainboard.server.store import checkpoints as checkpoints_store

#: WebSocket close code for "policy violation": the credentials behind the socket are no longer valid.
REVOKED_CLOSE_CODE = 1008
REVOKED_REASON = "credentials revoked or session ended: log in again"


class AuthGate:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.mode = AuthMode(settings)
        self.proxy_from = parse_networks(settings.auth_proxy_from)
        self._table: RouteTable | None = None

    def table(self, scope: Scope) -> RouteTable:
        if self._table is None:
            self._table = RouteTable(scope["app"].routes)
        return self._table

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        state = scope["app"].state.trainboard
        enabled = self.mode.cached()
        if enabled is None:
            enabled = await run_in_threadpool(self.mode.enabled, state.engines.reader)
        if not enabled:
            scope[SCOPE_KEY] = LOCAL
            await self.app(scope, receive, send)
            return
        rule, params = self.table(scope).match(scope)
        # the connection's own peer: an address from X-Forwarded-For is the client's word, not the proxy's
        creds = presented(scope, self.settings, proxy_trusted=peer_trusted(tcp_peer(scope), self.proxy_from))
        outcome = await self._resolve(state, creds)
        identity = outcome.identity
        scope[SCOPE_KEY] = identity or NOBODY
        if rule is not None and rule.public:
            await self.app(scope, receive, send)
            return
        if identity is None:
            await refuse(scope, send, 401, outcome.problem, [(b"www-authenticate", b'Bearer realm="trainboard"')])
            return
        level = rule.level if rule is not None else default_level(scope)
        if identity.level < level:
            detail = f"this needs the {LEVEL_NAMES[level]} permission; {_describe(identity)} has {_has(identity)}"
            await refuse(scope, send, 403, detail)
            return
        if identity.run_id is not None:
            problem = await self._run_scope_problem(state, identity, rule, params)
            if problem:
                await refuse(scope, send, 403, problem)
                return
        if rule is not None and rule.stream:
            await self._watched(scope, receive, send, state, creds)
            return
        await self.app(scope, receive, send)

    async def _resolve(self, state: Any, creds: Presented) -> Outcome:
        if not creds.tried and creds.proxy_user is None:
            return Outcome(None, "authentication required: log in, or send Authorization: Bearer <token>")

        def read() -> Outcome:
            with state.engines.reader.connect() as conn:
                return resolve(conn, creds, self.settings)

        outcome = await run_in_threadpool(read)
        if outcome.create_proxy_user is not None:
            name, role = outcome.create_proxy_user, self.settings.auth_proxy_role
            try:
                await state.writer.run(lambda c: accounts.create_user(c, name=name, role=role, password=None))
            except accounts.AuthInputError as exc:
                if exc.status != 409:  # 409: another request created it meanwhile
                    return Outcome(None, f"the auth proxy's user is not usable: {exc}")
        if outcome.touch_token is not None:
            token_id, at = outcome.touch_token, _now()
            state.writer.submit(lambda c: auth_tokens.touch(c, token_id, at))
        if outcome.touch_session is not None:
            id_hash, at = outcome.touch_session, _now()
            state.writer.submit(lambda c: auth_sessions.touch_session(c, id_hash, at))
        return outcome

    async def _run_scope_problem(
        self, state: Any, identity: Identity, rule: Rule | None, params: dict[str, str]
    ) -> str | None:
        denied = f"this token may only be used for run {identity.run_id!r}"
        if rule is None or not rule.run_scoped:
            return denied
        if rule.run_param == "run_id":
            return None if params.get("run_id") == identity.run_id else denied
        if rule.run_param == "checkpoint_id":
            checkpoint_id = params.get("checkpoint_id", "")

            def run_of() -> str | None:
                with state.engines.reader.connect() as conn:
                    row = checkpoints_store.get(conn, checkpoint_id=checkpoint_id)
                return None if row is None else str(row["run_id"])

            return None if await run_in_threadpool(run_of) == identity.run_id else denied
        return None  # create_run: the handler checks the body's id

    async def _watched(self, scope: Scope, receive: Receive, send: Send, state: Any, creds: Presented) -> None:
        """Run a stream while re-checking its credentials; end it when they stop being valid."""
        progress = {"started": False, "closed": False}

        async def tracking_send(message: Message) -> None:
            kind = message["type"]
            if kind in ("http.response.start", "websocket.accept", "websocket.http.response.start"):
                progress["started"] = True
            elif kind == "websocket.close" or (kind == "http.response.body" and not message.get("more_body")):
                progress["closed"] = True
            await send(message)

        task = asyncio.ensure_future(self.app(scope, receive, tracking_send))
        try:
            while True:
                done, _ = await asyncio.wait({task}, timeout=self.settings.stream_recheck_seconds)
                if done:
                    break
                outcome = await self._resolve(state, creds)
                if outcome.identity is not None:
                    continue
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
                await self._close(scope, send, progress)
                return
        finally:
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        task.result()

    @staticmethod
    async def _close(scope: Scope, send: Send, progress: dict[str, bool]) -> None:
        if progress["closed"]:
            return
        with contextlib.suppress(Exception):  # the client may be gone already
            if scope["type"] == "websocket":
                if progress["started"]:
                    await send({"type": "websocket.close", "code": REVOKED_CLOSE_CODE, "reason": REVOKED_REASON})
                else:
                    await refuse(scope, send, 401, REVOKED_REASON)
            elif progress["started"]:
                await send({"type": "http.response.body", "body": b"", "more_body": False})
            else:
                await refuse(scope, send, 401, REVOKED_REASON)


def _now() -> float:
    return time.time()


def _describe(identity: Identity) -> str:
    if identity.via == "token":
        return f"this token (scope {identity.scope})" + (f" of user {identity.user!r}" if identity.user else "")
    return f"user {identity.user!r} (role {identity.role})"


def _has(identity: Identity) -> str:
    return LEVEL_NAMES.get(identity.level, "no permission")
