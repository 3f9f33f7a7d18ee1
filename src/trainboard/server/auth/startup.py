"""What ``trainboard serve`` checks and says about authentication before it binds: refuse a non-loopback
bind without users, and ``--no-auth --allow-launch`` off loopback; warn on ``--no-auth`` naming the real bind
address; print the one-time login URL (Jupyter style) when auth is on."""

from __future__ import annotations

import time

from trainboard.server.auth import secrets as auth_secrets
from trainboard.server.auth.mode import required_by_settings
from trainboard.server.auth.proxy import parse_networks
from trainboard.server.auth.roles import ROLES
from trainboard.server.http.loopback import is_wildcard
from trainboard.server.settings import Settings
from trainboard.server.store import auth_sessions, auth_users
from trainboard.server.store.engine import make_engines, upgrade

#: How long the printed login URL works (seconds); it works once.
LOGIN_CODE_SECONDS = 600.0
NO_USERS = "no users yet: create an admin first: trainboard user add NAME --role admin (or pass --no-auth)"


class StartupRefused(Exception):
    """The server must not start; the message says what to do."""


def bind_address(settings: Settings) -> str:
    """Where the server listens, as given (``0.0.0.0`` stays ``0.0.0.0``: it is every interface)."""
    scheme = "https" if settings.ssl_certfile else "http"
    host = f"[{settings.host}]" if ":" in settings.host else settings.host or "0.0.0.0"
    where = " (every interface)" if is_wildcard(settings.host) else ""
    return f"{scheme}://{host}:{settings.port}{where}"


def no_auth_warning(settings: Settings) -> str:
    launch = " and launch commands on this machine (--allow-launch)" if settings.allow_launch else ""
    return (
        f"WARNING: --no-auth: authentication is off. Anyone who can reach {bind_address(settings)} can read, "
        f"change and delete every run{launch}."
    )


def check_no_auth(settings: Settings) -> None:
    """``--no-auth`` with ``--allow-launch`` off loopback would hand a shell to anyone on the network."""
    if settings.no_auth and settings.allow_launch and not settings.is_loopback:
        raise StartupRefused(
            f"--no-auth with --allow-launch on {bind_address(settings)}: anyone who can reach it could run "
            "commands on this machine. Drop --no-auth (create an admin: trainboard user add NAME --role admin), "
            "or bind to 127.0.0.1"
        )


def base_url(settings: Settings) -> str:
    scheme = "https" if settings.ssl_certfile else "http"
    host = settings.host
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}:{settings.port}"


def check_startup(settings: Settings) -> list[str]:
    """The lines to print before serving; raises :class:`StartupRefused` when serving would be unsafe."""
    if settings.auth_proxy_role not in ROLES:
        raise StartupRefused(f"--auth-proxy-role: use one of {', '.join(ROLES)}")
    try:
        parse_networks(settings.auth_proxy_from)
    except ValueError as exc:
        raise StartupRefused(f"--auth-proxy-from: {exc}") from None
    if settings.auth_proxy_header and not settings.auth_proxy_from:
        raise StartupRefused("--auth-proxy-header needs --auth-proxy-from (the proxy's addresses) to be trusted")
    try:
        parse_networks(settings.forwarded_allow_ips)
    except ValueError as exc:
        raise StartupRefused(f"--forwarded-allow-ips: {exc}") from None
    if settings.min_password_length < 1:
        raise StartupRefused(f"--min-password-length must be at least 1, not {settings.min_password_length}")
    check_no_auth(settings)
    if settings.no_auth:
        return [no_auth_warning(settings)]
    engines = make_engines(settings)
    try:
        engines.reader.dispose()
        upgrade(engines.writer)
        with engines.writer.begin() as conn:
            users = auth_users.count_users(conn)
            if users == 0 and required_by_settings(settings) and not settings.auth_proxy_header:
                raise StartupRefused(NO_USERS)
            admin = auth_users.first_admin(conn)
            if admin is None:
                return []
            code = auth_secrets.new_login_code()
            auth_sessions.insert_login_code(
                conn, code_hash=auth_secrets.digest(code), user=admin, expires_at=time.time() + LOGIN_CODE_SECONDS
            )
    finally:
        engines.dispose()
    minutes = int(LOGIN_CODE_SECONDS // 60)
    return [f"log in as {admin} (once, within {minutes} minutes): {base_url(settings)}/login?code={code}"]
