"""Whether authentication is on: off only on a loopback bind with no users (the two-command local default),
or with ``--no-auth``; on a non-loopback bind, with users, or behind a configured auth proxy."""

from __future__ import annotations

import time

from sqlalchemy import Engine

from trainboard.server.settings import Settings
from trainboard.server.store import auth_users

#: While no user exists, how long (seconds) that answer is reused before the database is asked again.
RECHECK_SECONDS = 1.0


def required_by_settings(settings: Settings) -> bool | None:
    """``True``/``False`` when the settings alone decide; ``None`` when it depends on whether users exist."""
    if settings.no_auth:
        return False
    if not settings.is_loopback or settings.auth_proxy_header:
        return True
    return None


def has_users(engine: Engine) -> bool:
    with engine.connect() as conn:
        return auth_users.count_users(conn) > 0


class AuthMode:
    """Caches the answer: once a user exists auth stays on for the life of the process (a user added with the
    CLI while the server runs switches it on within :data:`RECHECK_SECONDS`)."""

    def __init__(self, settings: Settings) -> None:
        self.fixed = required_by_settings(settings)
        self._on = False
        self._checked = -1e9

    def cached(self) -> bool | None:
        """The answer without asking the database, or ``None`` when it must be asked (call :meth:`enabled`)."""
        if self.fixed is not None:
            return self.fixed
        if self._on:
            return True
        return False if time.monotonic() - self._checked < RECHECK_SECONDS else None

    def enabled(self, engine: Engine) -> bool:
        if self.fixed is not None:
            return self.fixed
        if self._on:
            return True
        now = time.monotonic()
        if now - self._checked >= RECHECK_SECONDS:
            self._checked = now
            self._on = has_users(engine)
        return self._on
